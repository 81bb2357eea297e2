"""The JSON API, v1, for accounts: device tokens, who am I, and residents' own
accounts: texted codes, registering, resetting a password, downloading one's data
and deleting one's account. Their abuse limits are in civic/ratelimit.py.

    POST   /auth/token     {username, password, code?, device_id?} → 201 {token, user}
    DELETE /auth/token     → 204; the bearer token sent is revoked
    GET    /me             → 200 {id, username, display_name, role, department, grids}
    POST   /auth/codes     {phone, purpose: register|reset}  → 202 {sent, expires_in, resend_after}
    POST   /auth/register  {phone, code, password, display_name?, device_id?, device_name?} → 201 {token, user}
    POST   /auth/reset     {phone, code, password}            → 200 {ok}; every session and token of the user ended
    POST   /provision      {code, device_id?, device_name?}   → 201 {token, user}: a printed QR code, used once
    POST   /me/password    {old, new}                         → 200 {ok}; the other sessions and tokens ended
    POST   /me/logout-everywhere                              → 200 {ok}; every session and token ended
    GET    /me/export      → 200, a JSON attachment
    DELETE /me             {password}                         → 200 {deleted}; residents only
"""
from datetime import date

from flask import current_app, g, jsonify, request, session
from flask_login import current_user, logout_user

from ..admin import audit
from ..api import ApiBlueprint, json_body
from ..errors import ApiError
from ..ratelimit import count_text_sent, second_factor_due
from ..transaction import command
from ..urls import external_url
from . import codes, provisioning, residents, sessions
from . import services as accounts
from .export import export_user

bp = ApiBlueprint("accounts_api", __name__)


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
    audit.record("login", actor=user, ip=request.remote_addr, target=user, after={"by": "token"})
    return token_answer(user, token)


def token_answer(user, token):
    """The answer of every way a phone gets a token (login, QR code): one shape."""
    return jsonify(token=token, user={"id": user.id, "username": user.username, "role": user.role},
                   must_change_password=user.must_change_password), 201


@bp.post("/provision")
@command
def provision():
    """{code, device_id?, device_name?}: a printed QR code's one-time code → a token, as a login."""
    data = json_body()
    user, token, record = provisioning.redeem(data.get("code"), device_id=_text(data, "device_id", 64),
                                              device_name=_text(data, "device_name", 100))
    audit.record("login", actor=user, ip=request.remote_addr, target=user,
                 after={"by": "phone_code", "code_id": record.id})
    return token_answer(user, token)


@bp.post("/me/password")
@command
def change_password():
    """{old, new}: the user's own password; required after an import's one-time one."""
    data = json_body()
    # A phone logged in by an administrator's QR code never saw the one-time password.
    by_code = current_user.must_change_password and provisioning.came_from_code(g.device_token)
    accounts.change_password(current_user, data.get("old"), data.get("new"), keep_token=g.device_token,
                             old_known=not by_code)
    audit.record("user.password", actor=current_user, ip=request.remote_addr, target=current_user)
    return jsonify(ok=True, must_change_password=False)


@bp.delete("/auth/token")
@command
def revoke_token():
    if g.device_token is None:
        raise ApiError(401, "login_required", "Send the token to revoke as a Bearer token.")
    accounts.revoke_token(g.device_token)
    return "", 204


@bp.get("/me")
def me():
    user = current_user
    return jsonify(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   department=user.department.to_brief() if user.department else None,
                   grids=[grid.to_brief() for grid in user.grids], must_change_password=user.must_change_password)


@bp.post("/auth/codes")
@command
def request_code():
    data = json_body()
    phone = codes.parse_phone(data.get("phone"))
    purpose = codes.parse_purpose(data.get("purpose"))
    codes.issue_and_text(phone, purpose, secret=current_app.config["SECRET_KEY"], ip=request.remote_addr,
                         sent=count_text_sent)
    # The same answer whether or not the phone has an account.
    return jsonify(sent=True, expires_in=int(codes.CODE_TTL.total_seconds()),
                   resend_after=codes.RESEND_AFTER_SECONDS), 202


def _text(data, field, limit):
    value = data.get(field)
    if not isinstance(value, str):
        return None
    return value.strip()[:limit] or None


@bp.post("/auth/register")
@command
def register():
    data = json_body()
    registration = residents.parse_registration(data)
    secret = current_app.config["SECRET_KEY"]
    user = residents.register_resident(registration, secret=secret)
    token = accounts.issue_token(user, device_id=_text(data, "device_id", 64), name=_text(data, "device_name", 100))
    return jsonify(token=token, user={"id": user.id, "username": user.username, "role": user.role},
                   must_change_password=False), 201


@bp.post("/auth/reset")
@command
def reset_password():
    data = json_body()
    secret = current_app.config["SECRET_KEY"]
    residents.reset_password(data, secret=secret)
    return jsonify(ok=True)


@bp.post("/me/logout-everywhere")
@command
def logout_everywhere():
    """End every login session and device token of the current user, this one's too."""
    user = current_user
    sessions.end_everywhere(user)
    if "_user_id" in session:
        logout_user()
    return jsonify(ok=True)


@bp.get("/me/export")
def export_me():
    user = current_user
    body = export_user(user, photo_url=lambda key: external_url("media.photo", key=key))
    response = jsonify(body)
    filename = f"civic-grid-my-data-{date.today().isoformat()}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/me")
@command
def delete_me():
    user = current_user
    data = json_body()
    residents.delete_resident(user, data.get("password"))
    if "_user_id" in session:
        logout_user()  # a session login ends with the account
    return jsonify(deleted=True)
