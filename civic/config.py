"""Settings read from the environment, with defaults that need no setup.

DATABASE_URL   sqlite:///… (SpatiaLite, default: instance/civic.sqlite) or
               postgresql+psycopg://… (PostGIS)
SECRET_KEY     generated once into the instance folder when absent
PHOTO_DIR      where photo derivatives are stored (default: instance/photos)
REDIS_URL      optional; background jobs run in-process without it
CIVIC_MAP_TILE_URL          optional map tile template for the field app ({z}/{x}/{y})
CIVIC_MAP_TILE_ATTRIBUTION  the tiles' attribution text
CIVIC_MAP_TILE_CRS       the tile server's coordinate system: wgs84 (default), gcj02 (AMap, Tencent) or bd09 (Baidu)
TILE_DIR                 where the offline tile packs (MBTiles) are kept (default instance/tiles)
CIVIC_MAP_PACK           the pack the maps draw (default: the only, or first, pack)
CIVIC_TILE_CACHE_ZOOMS, CIVIC_TILE_CACHE_MB  the zooms (14-18) of the tiles a phone keeps for its worker's
                         grids, and their most (80 MB)
CIVIC_RELEASE               optional deploy id, part of the field app's shell version: set a new
                            one to roll phones forward when only server code changed
CIVIC_DEVICE_TOKEN_IDLE_DAYS  a device token unused this long is refused (default 30)
RATELIMIT_STORAGE_URI   where abuse-limit counters live: redis://…, civic+db:// (the database) or memory://
                        (one process only: tests); default REDIS_URL when set, else civic+db://
RATELIMIT_LOGIN_PER_NAME_IP, RATELIMIT_LOGIN_PER_IP, RATELIMIT_LOGIN_PER_NAME, RATELIMIT_CODES_PER_PHONE, RATELIMIT_CODES_PER_IP,
RATELIMIT_ACCOUNT_PER_IP, RATELIMIT_REPORTS_PER_ACCOUNT, RATELIMIT_REPORTS_PER_IP
                        the abuse limits ("10 per minute; 100 per day"; defaults in docs/security.md)
CIVIC_TRUSTED_PROXIES   how many proxies in front (nginx: 1) whose X-Forwarded-For gives the client's address
CIVIC_SESSION_MAX_DAYS  a login on the site (and its remember cookie) lasts at most this long (default 30)
CIVIC_MAX_BODY_KB       the largest body that is not a photo upload (JSON, forms; default 1024 KB)
VAPID_PRIVATE_KEY_FILE / VAPID_PUBLIC_KEY_FILE  the Web Push key pair (PEM; default
               instance/vapid_private.pem and instance/vapid_public.pem, made on first need)
VAPID_SUBJECT  contact for push services (default mailto:admin@civic-grid.invalid)
PUSH_RUNNER    inline | thread | rq: how notifications are sent in the background
               (default: rq when REDIS_URL is set, else an in-process thread)
PUSH_CONCURRENCY             requests in flight to push services at once (default 64)
PUSH_ALLOW_HTTP_LOCALHOST    accept push endpoints on localhost, and send to them (tests only; default off)
CIVIC_PUSH_SERVICE_HOSTS     push services a subscription may name besides FCM, Mozilla, Apple and Microsoft
                             (comma-separated hosts or domains, e.g. a phone vendor's domestic service)
CIVIC_SYNC_BEHIND_PENDING_MINUTES, CIVIC_SYNC_BEHIND_HOURS, CIVIC_SYNC_STALE_HOURS
                        sync dashboard: behind when reports wait 60 minutes or no sync for 4 hours; stale past 24
CIVIC_OPEN311_CHANGESET, CIVIC_OPEN311_CONTACT, CIVIC_OPEN311_KEY_SERVICE, CIVIC_OPEN311_TYPE
                        the Open311 discovery document's fields
CIVIC_TIMEZONE          the county's time zone: days, working hours and deadlines (default Asia/Shanghai)
CIVIC_WORKING_HOURS     working time for deadlines in 工作时 (default 08:30-12:00,13:30-17:30)
CIVIC_TIME_LIMITS       a JSON file of stage time limits per urgency level over the defaults (docs/time-limits.md)
CIVIC_EVALUATION        a JSON file of the evaluation's weights and grade thresholds over the defaults (docs/evaluation.md)
SPATIALITE_LIBRARY_PATH SpatiaLite's loadable module (default mod_spatialite, from the loader's path)
SMS_SENDER     the SMS hook: "log" (default: only logged) or "package.module:Class"
PHOTO_STORAGE            file (PHOTO_DIR, the default) or s3: S3_BUCKET, S3_ENDPOINT_URL, S3_REGION, AWS_* credentials
CIVIC_SECURE_COOKIES     1 behind TLS: the session and remember cookies are sent over https only
CIVIC_RANKING_MIN_CASES  weekly ranking: cases a department needs behind a rate to be ranked (default 5)
CIVIC_HOT_SPIKE_MIN, CIVIC_HOT_SPIKE_RATIO  hot topics: a spike has this many reports and this ratio (5, 2.0)
CIVIC_REWARD_POINTS_VALID, CIVIC_REWARD_POINTS_FIXED, CIVIC_REWARD_DAILY_CAP, CIVIC_REWARD_COOLDOWN_HOURS,
CIVIC_REWARD_COOLDOWN_METRES, CIVIC_REWARD_PHASH_BITS
                  rewards: points per valid (10) and fixed (5) report, rewarded reports a day (3), one per
                  place per resident in 24 h within 100 m, photo-hash bits of a near copy (6 of 64)
CIVIC_REOPEN_DAYS  a closed case may be reopened this many days after closing (default 7)
CIVIC_OUTSIDE_COUNTY_METRES, CIVIC_OLD_PHOTO_DAYS, CIVIC_PHOTO_FAR_METRES
                  a report's place is flagged (never refused) when it lies this far outside every
                  level-1 grid (2000), its photo was taken this many days before (3), or the photo's
                  GPS is this far from the phone's position (500)
CIVIC_REMIND_BEFORE_ACK_MINUTES      催办: remind this long before the acknowledge deadline
                                     (default 5; working minutes unless the category is urgent)
CIVIC_REMIND_BEFORE_RESOLVE_MINUTES  催办: remind this long before the resolve deadline (default 60;
                                     working minutes unless urgent or counted in calendar hours)
PUBLIC_BASE_URL  the site's address for links in group messages (default http://127.0.0.1:5000)
WEBHOOK_RUNNER inline | thread | rq: how group notifications are posted in the background
               (default: as PUSH_RUNNER)
CIVIC_JOBS_QUEUE  the RQ queue of `flask jobs worker` (civic-jobs)
CIVIC_CHASE_INTERVAL_SECONDS  how often the worker runs chasing (60)
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from .version import APP_VERSION

MB = 1024 * 1024


def _secret_key(instance_path):
    """Read SECRET_KEY from the environment, else from (or into) the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def normalise_database_url(url):
    """Accept the URL spellings hosting providers hand out (postgres://, postgresql://)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_WORKING_HOURS = "08:30-12:00,13:30-17:30"
DEFAULT_REOPEN_DAYS = 7


def _int_env(name, default):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def _choice_env(name, choices, default):
    value = (os.environ.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _flag_env(name, default=False):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def from_environment(instance_path):
    instance = Path(instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'civic.sqlite'}"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "PHOTO_DIR": os.environ.get("PHOTO_DIR") or str(instance / "photos"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Three photos of at most 20 MB plus the metadata; a larger body is refused
        # with 413 before anything is read into memory.
        "MAX_CONTENT_LENGTH": 64 * MB,
        # Every other body (JSON, a plain form) is small: refused with 413 past this,
        # counted while it is read, before anything is parsed.
        "MAX_BODY_BYTES": _int_env("CIVIC_MAX_BODY_KB", 1024) * 1024,
        # Where photos are kept: the photo folder, or an S3-compatible bucket (several app nodes).
        "PHOTO_STORAGE": os.environ.get("PHOTO_STORAGE") or "file",
        "S3_BUCKET": os.environ.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": os.environ.get("S3_REGION") or None,
        "MAX_FORM_MEMORY_SIZE": 1 * MB,
        "PHOTO_MAX_BYTES": 20 * MB,
        "PHOTO_MAX_PIXELS": 50_000_000,
        "PHOTOS_PER_REPORT": 3,
        "DESCRIPTION_MAX": 2000,
        "DISPLAY_MAX_SIDE": 1600,
        "THUMB_MAX_SIDE": 320,
        # How often a process checks whether another process changed the grids.
        "GRID_INDEX_CHECK_SECONDS": 30,
        # How often a process checks whether another process changed the county's calendar days.
        "CALENDAR_CHECK_SECONDS": 30,
        "TIMEZONE": os.environ.get("CIVIC_TIMEZONE", DEFAULT_TIMEZONE),
        # Working hours for deadlines in working time (工作时): morning and afternoon.
        "WORKING_HOURS": os.environ.get("CIVIC_WORKING_HOURS", DEFAULT_WORKING_HOURS),
        # A JSON file of time limits laid over the defaults (cases/urgency.py, docs/time-limits.md).
        "TIME_LIMITS_FILE": os.environ.get("CIVIC_TIME_LIMITS") or None,
        "EVALUATION_FILE": os.environ.get("CIVIC_EVALUATION") or None,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("CIVIC_TIMEZONE", DEFAULT_TIMEZONE),
        # SpatiaLite's loadable module (a path where the system's is not on the loader's path).
        "SPATIALITE_LIBRARY_PATH": os.environ.get("SPATIALITE_LIBRARY_PATH") or "mod_spatialite",
        "LANGUAGES": ["zh", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # A login on the site lasts at most this long (its remember cookie too), and
        # ends earlier on logout, a password reset or deactivation (accounts/sessions.py).
        "SESSION_MAX_DAYS": _int_env("CIVIC_SESSION_MAX_DAYS", 30),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int_env("CIVIC_SESSION_MAX_DAYS", 30)),
        # Behind TLS (production): cookies only over https.
        "SESSION_COOKIE_SECURE": _flag_env("CIVIC_SECURE_COOKIES"),
        "REMEMBER_COOKIE_SECURE": _flag_env("CIVIC_SECURE_COOKIES"),
        "WTF_CSRF_TIME_LIMIT": None,  # a form left open on a phone all day still submits
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # The field app (PWA): map tiles, version, heartbeat, token expiry.
        "MAP_TILE_URL": os.environ.get("CIVIC_MAP_TILE_URL") or None,
        "MAP_TILE_ATTRIBUTION": os.environ.get("CIVIC_MAP_TILE_ATTRIBUTION", ""),
        # Offline tile packs (civic/tiles): MBTiles files, served at /tiles/<pack>/{z}/{x}/{y}.
        "TILE_DIR": os.environ.get("TILE_DIR") or os.path.join(instance_path, "tiles"),
        "MAP_PACK": os.environ.get("CIVIC_MAP_PACK") or None,
        "MAP_TILE_CRS": _choice_env("CIVIC_MAP_TILE_CRS", ("wgs84", "gcj02", "bd09"), "wgs84"),
        "TILE_CACHE_ZOOMS": os.environ.get("CIVIC_TILE_CACHE_ZOOMS") or "14-18",
        "TILE_CACHE_MB": _int_env("CIVIC_TILE_CACHE_MB", 80),
        "APP_VERSION": APP_VERSION,
        "RELEASE": os.environ.get("CIVIC_RELEASE", ""),
        "HEARTBEAT_SECONDS": 300,
        # The supervisors' sync dashboard: a phone is "behind" when a report has
        # waited this long in its outbox or it has not synced for this long, and
        # "stale" when its heartbeat has been silent this long.
        "SYNC_BEHIND_PENDING_MINUTES": _int_env("CIVIC_SYNC_BEHIND_PENDING_MINUTES", 60),
        "SYNC_BEHIND_HOURS": _int_env("CIVIC_SYNC_BEHIND_HOURS", 4),
        "SYNC_STALE_HOURS": _int_env("CIVIC_SYNC_STALE_HOURS", 24),
        # The weekly ranking: a department is ranked on a rate only with at least
        # this many cases behind it (handled cases, ratings, acknowledgements).
        "RANKING_MIN_CASES": _int_env("CIVIC_RANKING_MIN_CASES", 5),
        # Hot topics: a category or keyword "spikes" with at least HOT_SPIKE_MIN
        # reports and HOT_SPIKE_RATIO times the period before (or none before).
        "HOT_SPIKE_MIN": _int_env("CIVIC_HOT_SPIKE_MIN", 5),
        "HOT_SPIKE_RATIO": float(os.environ.get("CIVIC_HOT_SPIKE_RATIO") or 2.0),
        # Open311 GeoReport v2 discovery (civic/open311/views.py).
        "OPEN311_CHANGESET": os.environ.get("CIVIC_OPEN311_CHANGESET") or "2026-12-01T00:00:00+08:00",
        "OPEN311_CONTACT": os.environ.get("CIVIC_OPEN311_CONTACT") or "城市管理指挥中心 12345",
        "OPEN311_KEY_SERVICE": os.environ.get("CIVIC_OPEN311_KEY_SERVICE") or "向城市管理指挥中心管理员申请 api_key",
        "OPEN311_TYPE": os.environ.get("CIVIC_OPEN311_TYPE") or "production",
        # A token unused this long is refused (the phone logs in again). Workers may
        # be offline for days, so this is generous; last_used_at is its clock.
        "DEVICE_TOKEN_IDLE_DAYS": _int_env("CIVIC_DEVICE_TOKEN_IDLE_DAYS", 30),
        # Abuse limits (civic/ratelimit.py): where the counters live. Default: REDIS_URL when
        # set, else the database (civic+db://); either way every worker shares them.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or None,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "civic",
        # The limits, in the `limits` notation ("10 per minute; 100 per day"):
        # failed logins for one username or phone from one address, and from one address;
        "RATELIMIT_LOGIN_PER_NAME_IP": os.environ.get("RATELIMIT_LOGIN_PER_NAME_IP") or "10 per minute",
        "RATELIMIT_LOGIN_PER_IP": os.environ.get("RATELIMIT_LOGIN_PER_IP") or "30 per minute",
        # and for one name from everywhere: past it, the right password also needs a texted code.
        "RATELIMIT_LOGIN_PER_NAME": os.environ.get("RATELIMIT_LOGIN_PER_NAME") or "50 per hour",
        # texted codes for one phone, and from one address;
        "RATELIMIT_CODES_PER_PHONE": os.environ.get("RATELIMIT_CODES_PER_PHONE") or "1 per minute; 5 per hour",
        "RATELIMIT_CODES_PER_IP": os.environ.get("RATELIMIT_CODES_PER_IP") or "20 per hour",
        # registering, resetting a password, deleting an account, from one address;
        "RATELIMIT_ACCOUNT_PER_IP": os.environ.get("RATELIMIT_ACCOUNT_PER_IP") or "10 per hour",
        # residents' new reports per account, and residents' and anonymous ones per address.
        "RATELIMIT_REPORTS_PER_ACCOUNT": os.environ.get("RATELIMIT_REPORTS_PER_ACCOUNT") or "20 per hour; 60 per day",
        "RATELIMIT_REPORTS_PER_IP": os.environ.get("RATELIMIT_REPORTS_PER_IP") or "60 per hour",
        # Behind nginx: how many proxies' X-Forwarded-For to believe for the client's address.
        "TRUSTED_PROXIES": _int_env("CIVIC_TRUSTED_PROXIES", 0),
        # Web Push (civic/push/): keys, subject, how and how hard to send.
        "VAPID_PRIVATE_KEY_FILE": os.environ.get("VAPID_PRIVATE_KEY_FILE") or None,
        "VAPID_PUBLIC_KEY_FILE": os.environ.get("VAPID_PUBLIC_KEY_FILE") or None,
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT") or "mailto:admin@civic-grid.invalid",
        "PUSH_ENABLED": True,
        "PUSH_RUNNER": os.environ.get("PUSH_RUNNER") or ("rq" if os.environ.get("REDIS_URL") else "thread"),
        "PUSH_CONCURRENCY": _int_env("PUSH_CONCURRENCY", 64),
        "PUSH_TIMEOUT_SECONDS": 10,
        "PUSH_MAX_ATTEMPTS": 5,
        "PUSH_BACKOFF_SECONDS": (30, 120, 600, 1800),
        "PUSH_POLL_SECONDS": 30,
        "PUSH_ALLOW_HTTP_LOCALHOST": _flag_env("PUSH_ALLOW_HTTP_LOCALHOST"),
        # The push services a subscription may name (a host, or a domain and all its
        # subdomains): the ones browsers use, and any a deployment adds (domestic phones'
        # vendor services) in CIVIC_PUSH_SERVICE_HOSTS, comma-separated. The server POSTs
        # to these and nowhere else, and never to an address inside this network.
        "PUSH_SERVICE_HOSTS": ("fcm.googleapis.com", "android.googleapis.com", "push.services.mozilla.com",
                               "push.apple.com", "notify.windows.com",
                               *(h.strip().lower().lstrip("*.") for h in
                                 os.environ.get("CIVIC_PUSH_SERVICE_HOSTS", "").split(",") if h.strip())),
        "SMS_SENDER": os.environ.get("SMS_SENDER") or "log",
        # The workflow (civic/cases/workflow.py) and the chasing job (civic/cases/chasing.py).
        "REOPEN_DAYS": _int_env("CIVIC_REOPEN_DAYS", DEFAULT_REOPEN_DAYS),
        # A report's place checked (civic/intake/place_checks.py): flagged for the dispatcher, never refused.
        "OUTSIDE_COUNTY_METRES": _int_env("CIVIC_OUTSIDE_COUNTY_METRES", 2000),
        "OLD_PHOTO_DAYS": _int_env("CIVIC_OLD_PHOTO_DAYS", 3),
        "PHOTO_FAR_METRES": _int_env("CIVIC_PHOTO_FAR_METRES", 500),
        # Rewards (随手拍有奖): points for a valid report and for a fixed one, rewarded
        # reports per resident per local day, one rewarded report per place per
        # resident in so many hours ("the same place": this close, without a poster),
        # and how many of a photo hash's 64 bits may differ for a near copy.
        "REWARD_POINTS_VALID": _int_env("CIVIC_REWARD_POINTS_VALID", 10),
        "REWARD_POINTS_FIXED": _int_env("CIVIC_REWARD_POINTS_FIXED", 5),
        "REWARD_DAILY_CAP": _int_env("CIVIC_REWARD_DAILY_CAP", 3),
        "REWARD_COOLDOWN_HOURS": _int_env("CIVIC_REWARD_COOLDOWN_HOURS", 24),
        "REWARD_COOLDOWN_METRES": _int_env("CIVIC_REWARD_COOLDOWN_METRES", 100),
        "REWARD_PHASH_BITS": _int_env("CIVIC_REWARD_PHASH_BITS", 6),
        "REMIND_BEFORE_ACK_MINUTES": _int_env("CIVIC_REMIND_BEFORE_ACK_MINUTES", 5),
        "REMIND_BEFORE_RESOLVE_MINUTES": _int_env("CIVIC_REMIND_BEFORE_RESOLVE_MINUTES", 60),
        # Group notifications to departments' chat groups (civic/notify/).
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
        "WEBHOOKS_ENABLED": True,
        "WEBHOOK_RUNNER": os.environ.get("WEBHOOK_RUNNER") or None,
        "WEBHOOK_TIMEOUT_SECONDS": 10,
        "WEBHOOK_MAX_ATTEMPTS": 4,
        "WEBHOOK_BACKOFF_SECONDS": (30, 120, 600),
        "WEBHOOK_POLL_SECONDS": 30,
        # Background jobs on RQ (civic/jobs.py), with REDIS_URL.
        "JOBS_QUEUE": os.environ.get("CIVIC_JOBS_QUEUE") or "civic-jobs",
        "JOBS_TIMEOUT_SECONDS": 3600,
        "JOBS_SCHEDULER_SECONDS": 5,
        "CHASE_INTERVAL_SECONDS": _int_env("CIVIC_CHASE_INTERVAL_SECONDS", 60),
    }
