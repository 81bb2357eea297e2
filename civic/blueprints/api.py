"""The JSON API, v1: the contract the PWA, tests and other clients use.

Authentication: `Authorization: Bearer <device token>` or the login session.
Session-authenticated writes must carry the CSRF token (X-CSRFToken header);
bearer-token requests cannot be forged by another site, so they need none.
"""
from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts import services as accounts
from ..cases.access import get_case_or_404
from ..cases.serialize import case_to_dict
from ..errors import ApiError
from ..extensions import csrf, db
from ..grids.models import Category
from ..sync.intake import submit_report
from ..sync.meta import parse_meta

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
        record = accounts.find_token(token)
        if record is None:
            raise ApiError(401, "invalid_token", "The device token is unknown or revoked; log in again.")
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
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


@bp.post("/auth/token")
def create_token():
    data = json_body()
    user = accounts.authenticate(data.get("username"), data.get("password"))
    if user is None:
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    device_id = data.get("device_id") if isinstance(data.get("device_id"), str) else None
    token = accounts.issue_token(user, device_id=(device_id or None) and device_id[:64])
    db.session.commit()
    return jsonify(token=token, user={"id": user.id, "username": user.username, "role": user.role}), 201


@bp.delete("/auth/token")
def revoke_token():
    if g.device_token is None:
        raise ApiError(401, "login_required", "Send the token to revoke as a Bearer token.")
    accounts.revoke_token(g.device_token)
    db.session.commit()
    return "", 204


@bp.get("/me")
def me():
    user = require_login()
    return jsonify(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   department=user.department.to_brief() if user.department else None,
                   grids=[grid.to_brief() for grid in user.grids])


@bp.get("/categories")
def categories():
    rows = db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.sort_order, Category.code)
    ).all()
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


@bp.post("/reports")
def create_report():
    user = require_login()
    if request.mimetype == "multipart/form-data":
        raw_meta = request.form.get("meta")
        if raw_meta is None and "meta" in request.files:
            raw_meta = request.files["meta"].read(64 * 1024)
        uploads = _read_uploads()
    elif request.mimetype == "application/json":
        raw_meta, uploads = request.get_data(cache=False), []
    else:
        raise ApiError(415, "unsupported_media_type", "Send multipart/form-data with a 'meta' part and 'photo' files.")
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
