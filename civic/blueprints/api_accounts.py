"""The JSON API, v1, for residents' own accounts: texted codes, registering,
resetting a password, downloading one's data and deleting one's account.
Routes on the api blueprint (same token and CSRF rules as the rest of the API);
their abuse limits are in civic/ratelimit.py.

    POST   /auth/codes     {phone, purpose: register|reset}  → 202 {sent, expires_in, resend_after}
    POST   /auth/register  {phone, code, password, display_name?, device_id?, device_name?} → 201 {token, user}
    POST   /auth/reset     {phone, code, password}            → 200 {ok}; every session and token of the user ended
    POST   /me/logout-everywhere                              → 200 {ok}; every session and token ended
    GET    /me/export      → 200, a JSON attachment
    DELETE /me             {password}                         → 200 {deleted}; residents only
"""
from datetime import date

from flask import current_app, jsonify, request, session
from flask_login import logout_user

from ..accounts import codes, residents, sessions
from ..accounts import services as accounts
from ..accounts.export import export_user
from ..urls import external_url
from ..transaction import after_commit, command
from .api import bp, json_body, require_login


def request_code_for(phone, purpose):
    """Stores a code (or not) and texts the phone once it is committed. Shared with
    the site's register page."""
    text = codes.issue_code(phone, purpose, secret=current_app.config["SECRET_KEY"], ip=request.remote_addr)

    def send():
        codes.send_text(phone, text)
        request.environ["civic.code_sent"] = True  # a text sent counts against the phone's and the address's limits

    after_commit(send)


@bp.post("/auth/codes")
@command
def request_code():
    data = json_body()
    phone = codes.parse_phone(data.get("phone"))
    purpose = codes.parse_purpose(data.get("purpose"))
    request_code_for(phone, purpose)
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
    return jsonify(token=token, user={"id": user.id, "username": user.username, "role": user.role}), 201


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
    user = require_login()
    sessions.end_everywhere(user)
    if "_user_id" in session:
        logout_user()
    return jsonify(ok=True)


@bp.get("/me/export")
def export_me():
    user = require_login()
    body = export_user(user, photo_url=lambda key: external_url("media.photo", key=key))
    response = jsonify(body)
    filename = f"civic-grid-my-data-{date.today().isoformat()}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/me")
@command
def delete_me():
    user = require_login()
    data = json_body()
    residents.delete_resident(user, data.get("password"))
    if "_user_id" in session:
        logout_user()  # a session login ends with the account
    return jsonify(deleted=True)
