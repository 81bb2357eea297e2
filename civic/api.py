"""The JSON API, v1: what every API blueprint shares. Each domain keeps its own
routes (accounts/api.py, intake/api.py, cases/api.py, …) on an `ApiBlueprint`,
which gives them the same prefix, the same authentication and the same errors.

Authentication: `Authorization: Bearer <device token>` or the login session.
Session-authenticated writes must carry the CSRF token (X-CSRFToken header);
bearer-token requests cannot be forged by another site, so they need none.
Who may call which route is decided once, in civic/routes.py.
"""
from flask import Blueprint, current_app, g, request
from flask_login import current_user

from .accounts import services as accounts
from .errors import ApiError
from .extensions import csrf, db
from .intake import fields
from .photos.storage import StorageUnavailable

PREFIX = "/api/v1"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


class ApiBlueprint(Blueprint):
    """A blueprint of the JSON API under /api/v1."""

    def __init__(self, name, import_name):
        super().__init__(name, import_name, url_prefix=PREFIX)
        csrf.exempt(self)  # checked in authenticate_request, for session logins only
        self.register_error_handler(StorageUnavailable, storage_unavailable)


def is_api_request():
    return isinstance(current_app.blueprints.get(request.blueprint), ApiBlueprint)


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authenticate_request():
    """before_request of the app, ahead of the route gate: on an API route, the user
    of a bearer token (for this request only), or the session's user with its CSRF
    token checked on writes."""
    g.device_token = None
    if not is_api_request():
        return
    token = bearer_token()
    if token is not None:
        record = accounts.find_token(token, idle_days=current_app.config["DEVICE_TOKEN_IDLE_DAYS"])
        if record is None:
            raise ApiError(401, "invalid_token", "The device token is unknown, revoked or expired; log in again.")
        accounts.touch_token(record)
        g.device_token = record
        # Flask-Login reads g._login_user, and nothing is written to the session,
        # so a token never becomes a cookie.
        g._login_user = record.user
    elif request.method in MUTATING and current_user.is_authenticated:
        csrf.protect()


def json_body():
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # [[[[…]]]] nested deeper than the parser goes
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return fields.require_unicode(data)


def _read_uploads():
    limit = current_app.config["PHOTO_MAX_BYTES"]
    uploads = []
    for part in request.files.getlist("photo"):
        data = part.stream.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "photo_too_large", f"A photo is larger than {limit // 2**20} MB.", "photo")
        uploads.append(data)
    return uploads


def meta_and_uploads():
    """The 'meta' JSON text and the photos' bytes of a multipart upload, or a
    JSON body alone (no photos)."""
    if request.mimetype == "multipart/form-data":
        raw_meta = request.form.get("meta")
        if raw_meta is None and "meta" in request.files:
            raw_meta = request.files["meta"].read(64 * 1024)
        return raw_meta, _read_uploads()
    if request.mimetype == "application/json":
        return request.get_data(cache=False), []
    raise ApiError(415, "unsupported_media_type", "Send multipart/form-data with a 'meta' part and 'photo' files.")


def storage_unavailable(exc):
    """The photo store is full (507) or unreachable (503). Whoever wrote files
    removed them and rolled back before this; nothing was saved."""
    db.session.rollback()
    if exc.status == 507:
        error = ApiError(507, "storage_full", "Photo storage on the server is full; nothing was saved. "
                         "It stays on your device and will be sent again.")
    else:
        error = ApiError(exc.status or 503, "storage_unavailable", "Photo storage on the server is not available; "
                         "nothing was saved. It stays on your device and will be sent again.")
    return error.to_response()
