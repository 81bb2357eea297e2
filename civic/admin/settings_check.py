"""The settings that matter, at a glance, with a warning where one is wrong for a
county in production. Read from the app's configuration (civic/config.py), never
the environment. A secret is never shown: only whether it is set, and a URL with
a password shows it as ***."""
import os
from dataclasses import dataclass
from datetime import date
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..cases.deadlines import last_known_year
from ..push.keys import key_paths

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@dataclass
class Setting:
    name: str        # the environment variable
    value: str       # what is safe to show
    ok: bool
    advice: str | None = None


def _private_host(host):
    if host in LOCAL_HOSTS or host.endswith((".local", ".invalid")):
        return True
    try:
        return ip_address(host).is_private or ip_address(host).is_loopback
    except ValueError:
        return False


def without_password(url):
    """A connection URL with its password as *** (or the URL as given when it is no URL)."""
    if not url:
        return ""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        parts = urlsplit(url)
        return f"{parts.scheme}://***@{parts.hostname}" if parts.password else url


def public_base_url(config):
    url = config.get("PUBLIC_BASE_URL") or ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return Setting("PUBLIC_BASE_URL", url or "(not set)", False,
                       _l("Not set: posters' QR codes and group messages need the address residents reach this site at."))
    if host in LOCAL_HOSTS:
        return Setting("PUBLIC_BASE_URL", url, False,
                       _l("Points at this computer: printed posters and group message links will not open on a phone."))
    if parts.scheme != "https" and not _private_host(host):
        return Setting("PUBLIC_BASE_URL", url, False,
                       _l("http:// on a public host: posters print it and phones send logins over it; use https://."))
    return Setting("PUBLIC_BASE_URL", url, True)


def sms_sender(config):
    name = config.get("SMS_SENDER") or "log"
    if name == "console":
        return Setting("SMS_SENDER", name, False, _l("Demo sender: codes are shown on a page, and no text is sent. "
                                                  "Never in production."))
    if name == "log":
        return Setting("SMS_SENDER", name, False, _l("No SMS gateway: codes are only written to the log, residents "
                                                  "cannot register or reset a password by text."))
    return Setting("SMS_SENDER", name, True)


def push_keys(config, instance_path):
    private, public = key_paths(config, instance_path)
    if Path(private).is_file() and Path(public).is_file():
        return Setting("VAPID keys", f"{private} (set)", True)
    return Setting("VAPID keys", "(none yet)", False,
                   _l("No Web Push key pair: run `flask vapid-keys` once and keep the private key; a new pair "
                      "later makes every phone subscribe again."))


def redis(config):
    url = config.get("REDIS_URL")
    limits = config.get("RATELIMIT_STORAGE_URI") or ""
    if limits.startswith("memory"):
        return Setting("REDIS_URL / RATELIMIT_STORAGE_URI", limits, False,
                       _l("Abuse limits count in each process's memory: every gunicorn worker allows the limit again."))
    if not url:
        return Setting("REDIS_URL", "(not set)", False, _l("No Redis: background jobs run in threads of the web "
                                                          "processes and abuse limits count in the database; fine for one small server."))
    return Setting("REDIS_URL", without_password(url), True)


def photo_storage(config):
    if config.get("PHOTO_STORAGE") == "s3":
        bucket = config.get("S3_BUCKET")
        return Setting("PHOTO_STORAGE", f"s3: {bucket or '(no bucket)'}", bool(bucket),
                       None if bucket else _l("PHOTO_STORAGE is s3 but S3_BUCKET is not set."))
    path = Path(config.get("PHOTO_DIR") or "")
    probe = path if path.exists() else path.parent
    if not os.access(probe, os.W_OK):
        return Setting("PHOTO_DIR", str(path), False, _l("This process cannot write there: reports with photos fail."))
    return Setting("PHOTO_DIR", str(path), True)


def database(config):
    url = config.get("SQLALCHEMY_DATABASE_URI") or ""
    shown = without_password(url)
    if url.startswith("sqlite"):
        return Setting("DATABASE_URL", shown, False, _l("SQLite with SpatiaLite: fine for a trial on one machine; "
                                                       "production runs PostgreSQL with PostGIS."))
    return Setting("DATABASE_URL", shown, True)


def secure_cookies(config):
    if config.get("SESSION_COOKIE_SECURE") and config.get("REMEMBER_COOKIE_SECURE"):
        return Setting("CIVIC_SECURE_COOKIES", "on", True)
    return Setting("CIVIC_SECURE_COOKIES", "off", False,
                   _l("Login cookies are also sent over plain http: behind TLS set CIVIC_SECURE_COOKIES=1."))


def holidays(today):
    last = last_known_year()
    if today.year + 1 > last and (today.month == 12 or today.year > last):
        return Setting("chinese-calendar", f"knows holidays up to {last}", False,
                       _l("%(year)d's holidays are not known yet: its days count as plain weekdays until the "
                          "package is updated or the days are added on the calendar page.", year=last + 1))
    return Setting("chinese-calendar", f"knows holidays up to {last}", True)


def check_all(config, instance_path, today=None):
    """Every setting shown, in the page's order."""
    return [public_base_url(config), sms_sender(config), push_keys(config, instance_path), redis(config),
            photo_storage(config), database(config), secure_cookies(config),
            Setting("SECRET_KEY", "set" if config.get("SECRET_KEY") else "(not set)", bool(config.get("SECRET_KEY"))),
            Setting("CIVIC_TIMEZONE / CIVIC_WORKING_HOURS", f"{config.get('TIMEZONE')}, {config.get('WORKING_HOURS')}",
                    True),
            holidays(today or date.today())]
