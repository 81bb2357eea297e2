"""Abuse limits (Flask-Limiter): guessing passwords, texting codes to strangers'
phones, and flooding the city with reports.

One table says which endpoint counts against which bucket; the rates come from
the config (RATELIMIT_*; tests lower them), stored in Redis when REDIS_URL is
set (every worker process shares the counts), else in this process's memory.
Each app has its own Limiter, so one app's counts never reach another's.

Staff are never limited on reports: a grid worker's phone sends a whole day
offline at once, and many workers share an office's address. A report that
replays one already stored (same client_id) is never refused either, and only
new cases count (201), so a phone's retries cost nothing. Logins count only
the failed ones, and codes only the ones sent.

Over a limit: 429 with Retry-After; `{"error": {"code": "rate_limited", ...}}`
on the API, a page on the site. The field app's outbox waits and sends again.
"""
import json
import os
import time
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from sqlalchemy import select

from .errors import ApiError, wants_json

DEFAULTS = {
    "RATELIMIT_LOGIN_PER_NAME": "10 per minute",    # failed logins for one username or phone
    "RATELIMIT_LOGIN_PER_IP": "30 per minute",      # failed logins from one address
    "RATELIMIT_CODES_PER_PHONE": "1 per minute; 5 per hour",
    "RATELIMIT_CODES_PER_IP": "20 per hour",
    "RATELIMIT_ACCOUNT_PER_IP": "10 per hour",      # register, reset a password, delete an account
    "RATELIMIT_REPORTS_PER_ACCOUNT": "20 per hour; 60 per day",  # residents' new reports
    "RATELIMIT_REPORTS_PER_IP": "60 per hour",      # residents' and anonymous new reports
    "RATELIMIT_STRATEGY": "fixed-window",
    "RATELIMIT_KEY_PREFIX": "civic",
}
WRITES = ["POST", "DELETE"]


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
    try:
        return request.form.get(name)  # parsed already (see _body_first)
    except Exception:
        return None


def _body_first(view):
    """Parses a form body before the limits read it, so that a body the parser
    refuses (a field over MAX_FORM_MEMORY_SIZE: 413) is answered as the view
    would answer it, not half-read inside the limiter."""
    @wraps(view)
    def parsed(*args, **kwargs):
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            request.form  # noqa: B018  (werkzeug parses on first access and keeps the result)
        return view(*args, **kwargs)

    return parsed


def _login_name():
    value = _field("username")
    return "name:" + (value.strip().lower()[:64] if isinstance(value, str) and value.strip() else "-")


def _phone():
    from .accounts.codes import normalise_phone

    return "phone:" + (normalise_phone(_field("phone"))[:20] or "-")


def _account():
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


def _is_staff():
    return current_user.is_authenticated and current_user.is_staff


def _replayed_report():
    """True when the report's client_id is stored already: the view answers it
    with the stored case (or 409), and no phone's retry is ever refused."""
    from .cases.models import Case
    from .extensions import db

    try:
        if request.mimetype == "multipart/form-data":
            raw = request.form.get("meta")  # parsed once (see _body_first); the view reads the same form
        elif request.mimetype == "application/json":
            raw = request.get_data(cache=True)
        else:
            return False
        client_id = json.loads(raw).get("client_id") if raw else None
    except Exception:  # a broken body: not a replay; the view says what is wrong
        return False
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        return False
    return db.session.scalar(select(Case.id).where(Case.client_id == client_id)) is not None


def _report_exempt():
    # Cached on the request (not on g, which can outlive a request while an app
    # context stays pushed): each limit asks again.
    if "civic.report_exempt" not in request.environ:
        request.environ["civic.report_exempt"] = _is_staff() or _replayed_report()
    return request.environ["civic.report_exempt"]


def _failed(response):
    return response.status_code >= 400


def _sent(response):
    return request.environ.get("civic.code_sent", False)


def _created(response):
    return response.status_code == 201


@dataclass(frozen=True)
class Rule:
    setting: str
    key: Callable[[], str]
    message: str  # the API's words
    page_message: object  # the site's (translated)
    exempt: Callable[[], bool] | None = None
    counts: Callable | None = None  # which responses count; None: every request


RULES = {
    "login-name": Rule("RATELIMIT_LOGIN_PER_NAME", _login_name, "Too many failed logins for this account",
                       _l("Too many failed logins for this account."), counts=_failed),
    "login-ip": Rule("RATELIMIT_LOGIN_PER_IP", client_ip, "Too many failed logins from this network",
                     _l("Too many failed logins from this network."), counts=_failed),
    "codes-phone": Rule("RATELIMIT_CODES_PER_PHONE", _phone, "Too many codes asked for this number",
                        _l("A code was sent to this number a moment ago."), counts=_sent),
    "codes-ip": Rule("RATELIMIT_CODES_PER_IP", client_ip, "Too many codes asked from this network",
                     _l("Too many codes were asked for from this network."), counts=_sent),
    "account-ip": Rule("RATELIMIT_ACCOUNT_PER_IP", client_ip, "Too many account requests from this network",
                       _l("Too many account requests from this network.")),
    "reports-account": Rule("RATELIMIT_REPORTS_PER_ACCOUNT", _account, "Too many reports from this account",
                            _l("Too many reports from this account."),
                            exempt=lambda: not current_user.is_authenticated or _report_exempt(), counts=_created),
    "reports-ip": Rule("RATELIMIT_REPORTS_PER_IP", client_ip, "Too many reports from this network",
                       _l("Too many reports from this network."), exempt=_report_exempt, counts=_created),
}

# Endpoint → the buckets it counts against. A bucket shared by two endpoints
# (the site's login and the API's) is one count.
ENDPOINTS = {
    "auth.login": ("login-name", "login-ip"),
    "api.create_token": ("login-name", "login-ip"),
    "api.request_code": ("codes-phone", "codes-ip"),
    "auth.send_code": ("codes-phone", "codes-ip"),
    "api.register": ("account-ip",),
    "auth.register": ("account-ip",),
    "api.reset_password": ("account-ip",),
    "api.delete_me": ("account-ip",),
    "api.create_report": ("reports-account", "reports-ip"),
}


def _provider(setting):
    return lambda: current_app.config[setting]


def _storage_uri(app):
    return os.environ.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"


def _trust_proxies(app):
    """Behind nginx every request comes from 127.0.0.1: with CIVIC_TRUSTED_PROXIES=1
    the client's address is taken from X-Forwarded-For (set only what is true:
    a client can write that header itself)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    count = app.config["TRUSTED_PROXIES"]
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def install(app):
    """After the blueprints are registered: wraps the endpoints in ENDPOINTS."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(app))
    app.config.setdefault("TRUSTED_PROXIES", int(os.environ.get("CIVIC_TRUSTED_PROXIES") or 0))
    _trust_proxies(app)
    uri = app.config["RATELIMIT_STORAGE_URI"]
    limiter = Limiter(client_ip, storage_uri=uri, headers_enabled=False,
                      # Redis down: count in this process's memory rather than refuse everyone.
                      in_memory_fallback_enabled=not uri.startswith("memory://"))
    limiter.init_app(app)
    app.extensions["civic_limiter"] = limiter
    for endpoint, scopes in ENDPOINTS.items():
        view = app.view_functions[endpoint]
        for scope in scopes:
            rule = RULES[scope]
            view = limiter.shared_limit(_provider(rule.setting), scope, key_func=rule.key, methods=WRITES,
                                        exempt_when=rule.exempt, deduct_when=rule.counts,
                                        error_message=rule.message)(view)
        app.view_functions[endpoint] = _body_first(view)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter


def retry_after_seconds():
    """Seconds until the limit that was hit lets the next request through."""
    hit = current_app.extensions["civic_limiter"].current_limit
    if hit is None:
        return 60
    return max(1, int(hit.reset_at - time.time()))


def _back():
    """The page the refused form was on (a same-site path), else the start."""
    from urllib.parse import urlsplit

    from flask import url_for

    path = urlsplit(request.referrer or "").path
    if request.method == "GET":
        return request.full_path
    return path if path.startswith("/") and not path.startswith("//") else url_for("main.home")


def too_many_requests(exc):
    seconds = retry_after_seconds()
    rule = RULES.get(exc.limit.scope if isinstance(exc.limit.scope, str) else "")
    if wants_json():
        what = rule.message if rule else "Too many requests"
        response = ApiError(429, "rate_limited", f"{what}; try again in {seconds} seconds.").to_response()
        response = current_app.make_response(response)
    else:
        page = render_template("rate_limited.html", what=rule.page_message if rule else None, seconds=seconds,
                               back=_back())
        response = current_app.make_response((page, 429))
    response.headers["Retry-After"] = str(seconds)
    return response
