"""Abuse limits: guessing passwords, texting codes to strangers' phones, and
flooding the city with reports.

One table says which endpoint counts against which bucket; the rates come from
the config (RATELIMIT_*; tests lower them). The counters live in Redis when
REDIS_URL is set, else in the app's database (civic/ratelimit_store.py): in
both, every worker process of every node shares them, so a limit holds however
many gunicorn workers serve the requests. (memory:// counts per process: for
tests and single-process tools only.)

Each request takes its token *before* the work, in one atomic increment, and
gives it back afterwards where the rule says so (a login that succeeded, a code
that was not sent): with check-then-count, a hundred parallel requests would all
see "one left". Counting attempts rather than successes also makes a refused
upload (decoded, then rejected) cost its sender as much as a stored one.

Staff are never limited on reports: a grid worker's phone sends a whole day
offline at once, and many workers share an office's address. A report that
replays one already stored (same client_id) is never refused either, so a
phone's retries cost nothing, and a report the server failed (5xx) is given back.

Over a limit: 429 with Retry-After; `{"error": {"code": "rate_limited", ...}}`
on the API, a page on the site. The field app's outbox waits and sends again.
"""
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from . import phones
from .errors import ApiError, wants_json
from .ratelimit_store import DatabaseStorage

log = logging.getLogger(__name__)

WRITES = ("POST", "DELETE")
DATABASE = "civic+db://"


class RateLimited(HTTPException):
    code = 429

    def __init__(self, rule, retry_after):
        super().__init__(rule.message)
        self.rule, self.retry_after = rule, retry_after


def client_ip():
    return request.remote_addr or "unknown"


def _field(name):
    """A field of the JSON body or of the form, whichever the request has."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # nested too deep: the view answers 400
            return None
        return data.get(name) if isinstance(data, dict) else None
    return request.form.get(name)  # parsed already, before the limits (see _limited)


def login_name():
    """The name a login is for, as the account lookup reads it: a phone in any
    form (full-width digits, +86, spaces) is one name."""
    value = _field("username")
    if not isinstance(value, str) or not value.strip():
        return "-"
    value = value.strip()
    return phones.mobile(value) or value.lower()[:64]


def _name_and_ip():
    return f"{login_name()}@{client_ip()}"


def _phone():
    return phones.normalise(_field("phone"))[:20] or "-"


def _account():
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


def _is_staff():
    return current_user.is_authenticated and current_user.is_staff


def _replayed_report():
    """True when the report's client_id is stored already: the view answers it
    with the stored case (or 409), and no phone's retry is ever refused."""
    from .cases.models import Case
    from .extensions import db

    if request.mimetype == "multipart/form-data":
        raw = request.form.get("meta")  # parsed once (see _limited); the view reads the same form
    elif request.mimetype == "application/json":
        raw = request.get_data(cache=True)
    else:
        return False
    try:
        meta = json.loads(raw) if raw else None
    except (ValueError, RecursionError):  # a broken body: not a replay; the view says what is wrong
        return False
    client_id = meta.get("client_id") if isinstance(meta, dict) else None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64 or "\x00" in client_id:
        return False
    return db.session.scalar(select(Case.id).where(Case.client_id == client_id)) is not None


def _report_exempt():
    return _is_staff() or _replayed_report()


def second_factor_due():
    """Whether this login must also give a texted code (the per-name backstop is spent)."""
    return request.environ.get("civic.second_factor", False)


def _succeeded(status):
    return status < 400


def count_text_sent():
    """Called when this request texted a code: it then counts against the phone's and
    the address's limits (a refused request, which texted nothing, does not)."""
    request.environ["civic.code_sent"] = True


def _not_sent(status):
    return not request.environ.get("civic.code_sent", False)


def _report_costs_nothing(status):
    """A report the server failed (5xx), or one refused (4xx) before any photo was
    decoded: given back. A refused photo upload cost a second of CPU: it counts."""
    return status >= 500 or (status >= 400 and not request.files)


@dataclass(frozen=True)
class Rule:
    setting: str
    key: Callable[[], str]
    message: str  # the API's words
    page_message: object  # the site's (translated)
    exempt: Callable[[], bool] | None = None
    give_back: Callable[[int], bool] | None = None  # after the view, given its status: True returns the token
    # When spent: refuse (429), or only mark the request (the login then asks for a texted code).
    when_spent: str = "refuse"


RULES = {
    "login-name": Rule("RATELIMIT_LOGIN_PER_NAME_IP", _name_and_ip, "Too many failed logins for this account",
                       _l("Too many failed logins for this account."), give_back=_succeeded),
    # The backstop for one name from everywhere: when it is spent, the right password still
    # logs in, with a code texted to the account's phone (accounts.services.second_factor).
    "login-name-anywhere": Rule("RATELIMIT_LOGIN_PER_NAME", login_name, "Too many failed logins for this account",
                                _l("Too many failed logins for this account."), give_back=_succeeded,
                                when_spent="second_factor"),
    "login-ip": Rule("RATELIMIT_LOGIN_PER_IP", client_ip, "Too many failed logins from this network",
                     _l("Too many failed logins from this network."), give_back=_succeeded),
    "codes-phone": Rule("RATELIMIT_CODES_PER_PHONE", _phone, "Too many codes asked for this number",
                        _l("A code was sent to this number a moment ago."), give_back=_not_sent),
    "codes-ip": Rule("RATELIMIT_CODES_PER_IP", client_ip, "Too many codes asked from this network",
                     _l("Too many codes were asked for from this network."), give_back=_not_sent),
    "account-ip": Rule("RATELIMIT_ACCOUNT_PER_IP", client_ip, "Too many account requests from this network",
                       _l("Too many account requests from this network.")),
    "reports-account": Rule("RATELIMIT_REPORTS_PER_ACCOUNT", _account, "Too many reports from this account",
                            _l("Too many reports from this account."),
                            exempt=lambda: not current_user.is_authenticated or _report_exempt(),
                            give_back=_report_costs_nothing),
    "reports-ip": Rule("RATELIMIT_REPORTS_PER_IP", client_ip, "Too many reports from this network",
                       _l("Too many reports from this network."), exempt=_report_exempt,
                       give_back=_report_costs_nothing),
}

# Endpoint → the buckets it counts against. A bucket shared by two endpoints
# (the site's login and the API's) is one count.
ENDPOINTS = {
    "auth.login": ("login-name", "login-ip", "login-name-anywhere"),
    "accounts_api.create_token": ("login-name", "login-ip", "login-name-anywhere"),
    "accounts_api.provision": ("login-ip",),  # a QR code is a login: wrong codes count as wrong passwords do
    "accounts_api.request_code": ("codes-phone", "codes-ip"),
    "auth.send_code": ("codes-phone", "codes-ip"),
    "accounts_api.register": ("account-ip",),
    "auth.register": ("account-ip",),
    "accounts_api.reset_password": ("account-ip",),
    "accounts_api.delete_me": ("account-ip",),
    "intake_api.create_report": ("reports-account", "reports-ip"),
}


class Limits:
    """The app's counters and the one way to take and give back a token."""

    def __init__(self, app):
        self.uri = app.config["RATELIMIT_STORAGE_URI"]
        self.prefix = app.config["RATELIMIT_KEY_PREFIX"]
        self.storage = self._storage(self.uri)
        # Redis away: count in the database rather than refuse everyone or count nothing.
        self.fallback = FixedWindowRateLimiter(DatabaseStorage()) if not self.uri.startswith("civic+db") else None
        self.strategy = FixedWindowRateLimiter(self.storage)

    @staticmethod
    def _storage(uri):
        if uri.startswith("civic+db"):
            return DatabaseStorage()
        return storage_from_string(uri)

    def describe(self):
        if self.uri.startswith("memory://"):
            return "in this process's memory (each worker counts on its own: tests only)"
        if self.uri.startswith("civic+db"):
            return "in the database (shared by every worker)"
        return f"in {self.uri.split('://')[0]} (shared by every worker)"

    def _hit(self, item, identifiers, cost):
        try:
            return self.strategy.hit(item, *identifiers, cost=cost)
        except self.storage.base_exceptions:
            if self.fallback is None:
                raise
            log.warning("rate-limit storage %s unreachable: counting in the database", self.uri.split("://")[0])
            return self.fallback.hit(item, *identifiers, cost=cost)

    def _retry_after(self, item, identifiers):
        try:
            reset = self.strategy.get_window_stats(item, *identifiers).reset_time
        except self.storage.base_exceptions:
            reset = time.time() + item.get_expiry()
        return max(1, int(reset - time.time() + 0.999))

    @staticmethod
    def _safe(key):
        """The bucket's name as every storage can keep it: short printable ASCII as it
        is, anything else (a name with a lone surrogate, a NUL, 64 emoji) hashed."""
        if key.isascii() and key.isprintable() and len(key) <= 100:
            return key
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def take(self, scope, rule):
        """Take one token from each window of `rule` for this request; raises
        RateLimited (giving back what it took) when one is spent. Returns what
        to give back later."""
        identifiers = (self.prefix, scope, self._safe(rule.key()))
        taken = []
        for item in parse_many(current_app.config[rule.setting]):
            if self._hit(item, identifiers, 1):
                taken.append(item)
                continue
            if rule.when_spent == "second_factor":
                request.environ["civic.second_factor"] = True
                taken.append(item)  # counted like the others (a success gives it back)
                continue
            self.give_back(taken, identifiers)
            raise RateLimited(rule, self._retry_after(item, identifiers))
        return taken, identifiers

    def give_back(self, items, identifiers):
        for item in items:
            self._hit(item, identifiers, -1)


def _limited(view, scopes):
    @wraps(view)
    def limited(*args, **kwargs):
        limits = current_app.extensions["civic_limiter"]
        if request.method not in WRITES or not current_app.config["RATELIMIT_ENABLED"]:
            return view(*args, **kwargs)
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            # Parse the body now, so that one the parser refuses (a field over
            # MAX_FORM_MEMORY_SIZE: 413) is answered as the view would answer it.
            request.form  # noqa: B018  (werkzeug parses on first access and keeps the result)
        held = []
        try:
            for scope in scopes:
                rule = RULES[scope]
                if rule.exempt is not None and rule.exempt():
                    continue
                held.append((rule, *limits.take(scope, rule)))
        except RateLimited:
            for _rule, items, identifiers in held:
                limits.give_back(items, identifiers)
            raise
        status = 500  # a bug in the view: counted as the server's failure
        try:
            response = current_app.make_response(view(*args, **kwargs))
            status = response.status_code
            return response
        except ApiError as error:
            status = error.status
            raise
        except HTTPException as error:
            status = error.code or 500
            raise
        finally:
            for rule, items, identifiers in held:
                if rule.give_back is not None and rule.give_back(status):
                    limits.give_back(items, identifiers)

    return limited


def install(app):
    """After the blueprints are registered: wraps the endpoints in ENDPOINTS."""
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or DATABASE
    _trust_proxies(app)
    limits = Limits(app)
    app.extensions["civic_limiter"] = limits
    for endpoint, scopes in ENDPOINTS.items():
        app.view_functions[endpoint] = _limited(app.view_functions[endpoint], scopes)
    app.register_error_handler(RateLimited, too_many_requests)
    return limits


def _trust_proxies(app):
    """Behind nginx every request comes from 127.0.0.1: with CIVIC_TRUSTED_PROXIES=1
    the client's address is taken from X-Forwarded-For (set only what is true:
    a client can write that header itself)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    count = app.config["TRUSTED_PROXIES"]
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _back():
    """The page the refused form was on (a same-site path), else the start."""
    from urllib.parse import urlsplit

    from flask import url_for

    from .urls import same_site_path

    if request.method == "GET":
        return request.full_path
    return same_site_path(urlsplit(request.referrer or "").path) or url_for("main.home")


def too_many_requests(exc):
    seconds = exc.retry_after
    rule = exc.rule
    if wants_json():
        response = ApiError(429, "rate_limited", f"{rule.message}; try again in {seconds} seconds.").to_response()
        response = current_app.make_response(response)
    else:
        page = render_template("rate_limited.html", what=rule.page_message, seconds=seconds, back=_back())
        response = current_app.make_response((page, 429))
    response.headers["Retry-After"] = str(seconds)
    return response
