"""The JSON API, v1: the contract the PWA, tests and other clients use.

Authentication: `Authorization: Bearer <device token>` or the login session.
Session-authenticated writes must carry the CSRF token (X-CSRFToken header);
bearer-token requests cannot be forged by another site, so they need none.
"""
from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..accounts import services as accounts
from ..accounts.models import OVERSIGHT_ROLES, Role
from ..cases.access import can_view_case, get_case_or_404, related_clause
from ..cases.models import Case
from ..cases.serialize import case_detail, case_to_dict, case_with_actions, event_to_dict
from ..cases.tasks import LIST_LOADS, tasks_etag, tasks_for
from ..cases.workflow import WorkflowError
from ..devices.services import record_heartbeat
from ..errors import ApiError
from ..ratelimit import second_factor_due
from ..extensions import csrf, db
from ..grids.geojson import feature_collection
from ..photos.storage import StorageUnavailable
from ..push import services as push
from ..push.jobs import push_state
from ..push.keys import VapidKeyError
from ..sync import fields
from ..sync.actions import find_event, parse_action, submit_action
from ..sync.intake import submit_report
from ..sync.meta import parse_meta
from ..timeutil import isoformat, utcnow
from ..transaction import command
from ..grids.catalogue import active_categories

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@bp.before_request
def authenticate_request():
    g.device_token = None
    token = bearer_token()
    if token is not None:
        record = accounts.find_token(token, idle_days=current_app.config["DEVICE_TOKEN_IDLE_DAYS"])
        if record is None:
            raise ApiError(401, "invalid_token", "The device token is unknown, revoked or expired; log in again.")
        accounts.touch_token(record)
        g.device_token = record
        # The user for this request only: Flask-Login reads g._login_user, and
        # nothing is written to the session, so a token never becomes a cookie.
        g._login_user = record.user
    elif request.method in MUTATING and current_user.is_authenticated:
        csrf.protect()


def require_login():
    if not current_user.is_authenticated:
        raise ApiError(401, "login_required", "Log in first.")
    return current_user


def json_body():
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # [[[[…]]]] nested deeper than the parser goes
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return fields.require_unicode(data)


@bp.post("/auth/token")
@command
def create_token():
    data = json_body()
    user = accounts.log_in(data.get("username"), data.get("password"), data.get("code"),
                           second_factor_due=second_factor_due(), secret=current_app.config["SECRET_KEY"],
                           ip=request.remote_addr)
    if user is None:
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    device_id = data.get("device_id") if isinstance(data.get("device_id"), str) else None
    token = accounts.issue_token(user, device_id=(device_id or None) and device_id[:64])
    return jsonify(token=token, user={"id": user.id, "username": user.username, "role": user.role}), 201


@bp.delete("/auth/token")
@command
def revoke_token():
    if g.device_token is None:
        raise ApiError(401, "login_required", "Send the token to revoke as a Bearer token.")
    accounts.revoke_token(g.device_token)
    return "", 204


@bp.get("/me")
def me():
    user = require_login()
    return jsonify(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   department=user.department.to_brief() if user.department else None,
                   grids=[grid.to_brief() for grid in user.grids])


@bp.get("/categories")
def categories():
    rows = active_categories()
    return jsonify(categories=[
        {
            "code": c.code,
            "name": c.name_zh,
            "name_en": c.name_en,
            "kind": c.kind,
            "class_code": c.class_code,
            "class_name": c.class_name,
            "icon": c.icon,
            "urgent": c.urgent,
            "after_photo_required": c.after_photo_required,
        }
        for c in rows
    ])


def _read_uploads():
    limit = current_app.config["PHOTO_MAX_BYTES"]
    uploads = []
    for part in request.files.getlist("photo"):
        data = part.stream.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "photo_too_large", f"A photo is larger than {limit // 2**20} MB.", "photo")
        uploads.append(data)
    return uploads


def _meta_and_uploads():
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


@bp.errorhandler(StorageUnavailable)
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


@bp.errorhandler(WorkflowError)
def workflow_refused(exc):
    """A refused task action also carries the case as it is now, when the user may see it."""
    db.session.rollback()
    case = db.session.get(Case, exc.case_id)
    if case is not None and can_view_case(current_user, case):
        exc.extra["case"] = case_detail(case, current_user)
    return exc.to_response()


@bp.post("/reports")
@command
def create_report():
    user = require_login()
    raw_meta, uploads = _meta_and_uploads()
    meta = parse_meta(raw_meta, description_max=current_app.config["DESCRIPTION_MAX"])
    result = submit_report(meta, uploads, user)
    body = case_to_dict(result.case, user)
    if not result.created:
        return jsonify(body), 200
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_report", case_id=result.case.id)
    return response


@bp.get("/reports/<int:case_id>")
def get_report(case_id):
    user = require_login()
    return jsonify(case_to_dict(get_case_or_404(case_id, user=user), user))


REPORTS_DEFAULT, REPORTS_MAX = 50, 200


@bp.get("/reports")
def list_reports():
    """The current user's own reports and the cases they follow (their report was
    merged into it), newest first."""
    user = require_login()
    raw = request.args.get("limit")
    limit = REPORTS_DEFAULT
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not 1 <= int(raw) <= REPORTS_MAX:
            raise ApiError(422, "invalid", f"limit must be a whole number from 1 to {REPORTS_MAX}.", "limit")
        limit = int(raw)
    cases = db.session.scalars(select(Case).where(related_clause(user, ("reporter", "follower")))
                               .options(*LIST_LOADS)
                               .order_by(Case.received_at.desc(), Case.id.desc()).limit(limit)).all()
    return jsonify(reports=[case_to_dict(case, user) for case in cases])


@bp.get("/cases/<int:case_id>")
def get_case(case_id):
    user = require_login()
    return jsonify(case_detail(get_case_or_404(case_id, user=user), user))


def _replayed_case(case_id, user):
    """(case, meta, uploads) when the request replays an action `user` did on the case
    that took it out of their sight (a "return": no longer their department's), so the
    phone's retry gets its answer; else the 404 stands."""
    try:
        raw_meta, uploads = _meta_and_uploads()
        meta = parse_action(raw_meta, note_max=current_app.config["DESCRIPTION_MAX"])
    except ApiError:
        raise NotFound() from None
    existing = find_event(meta.client_id)
    if existing is None or existing.case_id != case_id or existing.actor_id != user.id:
        raise NotFound()
    return db.session.get(Case, case_id), raw_meta, uploads


@bp.post("/cases/<int:case_id>/actions")
@command
def post_action(case_id):
    """Do a workflow action on a case: 201 new, 200 replay of the same client_id."""
    user = require_login()
    try:
        case = get_case_or_404(case_id, user=user)
        raw_meta, uploads = _meta_and_uploads()
    except NotFound:
        case, raw_meta, uploads = _replayed_case(case_id, user)
    meta = parse_action(raw_meta, note_max=current_app.config["DESCRIPTION_MAX"])
    result = submit_action(case, meta, uploads, user)
    db.session.refresh(case)
    body = {"event": event_to_dict(result.event, user), "case": case_detail(case, user)}
    return jsonify(body), 201 if result.created else 200


@bp.get("/tasks")
def tasks():
    """The current user's tasks (see civic/cases/tasks.py), with an ETag: the app polls this."""
    user = require_login()
    cases = tasks_for(user)
    etag = tasks_etag(user, cases)
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        response = jsonify(tasks=[case_with_actions(case, user) for case in cases])
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/me/grids")
def my_grids():
    """The user's grids as GeoJSON, level-1 first."""
    user = require_login()
    grids = sorted(user.grids, key=lambda grid: (grid.level, grid.code))
    return jsonify(feature_collection(grids))


@bp.get("/client-config")
def client_config():
    """What the field app needs before anyone logs in."""
    config = current_app.config
    return jsonify(
        map={"tile_url": config.get("MAP_TILE_URL") or None, "attribution": config.get("MAP_TILE_ATTRIBUTION") or ""},
        photos_per_report=config["PHOTOS_PER_REPORT"],
        display_max_side=config["DISPLAY_MAX_SIDE"],
        heartbeat_seconds=config["HEARTBEAT_SECONDS"],
        app_version=config["APP_VERSION"],
        push={"public_key": _push_public_key()},
    )


@bp.post("/devices/heartbeat")
@command
def heartbeat():
    user = require_login()
    token = g.device_token
    record_heartbeat(user, json_body(), user_agent=request.headers.get("User-Agent"),
                     logged_in_on=token.device_id if token is not None else None)
    return jsonify(ok=True, server_time=isoformat(utcnow()))


# -- Web Push ------------------------------------------------------------------------

def _push_public_key():
    """The VAPID public key (made on first need), or None when it cannot be read or made."""
    try:
        return push_state().keys.application_server_key
    except (VapidKeyError, OSError):
        current_app.logger.exception("VAPID keys unavailable")
        return None


@bp.get("/push/key")
def push_key():
    """The applicationServerKey for PushManager.subscribe: base64url, no padding."""
    key = _push_public_key()
    if key is None:
        raise ApiError(503, "push_unavailable", "Push notifications are not available on this server.")
    return jsonify(public_key=key)


def _subscription_to_dict(sub):
    return {"id": sub.id, "endpoint": sub.endpoint, "device_id": sub.device_id, "created_at": isoformat(sub.created_at),
            "last_success_at": isoformat(sub.last_success_at), "last_failure_at": isoformat(sub.last_failure_at),
            "active": sub.active}


@bp.post("/push/subscriptions")
@command
def push_subscribe():
    """Save this browser's PushSubscription for the user: 201 new, 200 known endpoint."""
    user = require_login()
    config = current_app.config
    sub, created = push.save_subscription(user, json_body(), user_agent=request.headers.get("User-Agent"),
                                          allow_http_local=config["PUSH_ALLOW_HTTP_LOCALHOST"],
                                          allowed_hosts=config["PUSH_SERVICE_HOSTS"])
    return jsonify(_subscription_to_dict(sub)), 201 if created else 200


@bp.delete("/push/subscriptions")
@command
def push_unsubscribe():
    """Forget the user's subscription of this endpoint (logout); 204 whether or not it was known."""
    user = require_login()
    push.delete_subscription(user, json_body())
    return "", 204


@bp.get("/me/notifications")
def get_notification_preferences():
    user = require_login()
    return jsonify(push.preferences_of(user.id))


@bp.put("/me/notifications")
@command
def put_notification_preferences():
    """Change any of mute_at_night, night ("HH:MM-HH:MM", local time), resident_updates."""
    user = require_login()
    return jsonify(push.update_preferences(user, json_body()))


@bp.get("/push/status")
def push_status():
    """Per user: whether push works and when it last succeeded (dispatchers, supervisors, admins)."""
    user = require_login()
    if user.role_enum not in OVERSIGHT_ROLES:
        raise ApiError(403, "forbidden", "Only dispatchers, supervisors and administrators can see this.")
    role = request.args.get("role") or None
    if role is not None and role not in Role.values():
        raise ApiError(422, "invalid", f"role must be one of {', '.join(Role.values())}.", "role")
    return jsonify(users=push.push_status(role))
