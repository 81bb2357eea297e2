"""The site's register page for residents (routes on the auth blueprint): the
phone number, a "send code" button (a plain form post, no JavaScript), the code
and a password. The same services and limits as the API's /auth/codes and
/auth/register; the refusals are shown in the page's language next to the field.
"""
from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from ..accounts import codes, residents, sessions
from ..accounts.models import mask_phone
from ..errors import ApiError
from ..extensions import db
from ..transaction import command
from .api_accounts import request_code_for
from .auth import bp


class RegisterForm(FlaskForm):
    phone = StringField("phone")
    code = StringField("code")
    password = PasswordField("password")
    display_name = StringField("display_name")


def _message(error):
    """The page's words for a refusal the services raised (their messages are the API's English)."""
    messages = {
        "invalid_phone": _("Enter a mainland China mobile number (11 digits, starting with 1)."),
        "password_too_short": _("The password needs at least %(n)d characters.", n=residents.PASSWORD_MIN),
        "code_expired": _("This code has expired or was already used; ask for a new one."),
        "code_attempts_exhausted": _("Too many wrong codes; ask for a new one."),
        "phone_registered": _("This phone number already has an account; log in instead."),
        "sms_unavailable": _("The text message could not be sent; try again in a minute."),
    }
    if error.code == "invalid_code" and "tries_left" in error.extra:
        return _("The code is wrong; %(n)d tries left.", n=error.extra["tries_left"])
    if error.code in ("invalid_code", "required") and error.field == "code":
        return _("Enter the 6-digit code from the text message.")
    if error.code == "required" and error.field == "password":
        return _("Choose a password.")
    if error.field == "display_name":
        return _("The name can have at most %(n)d characters.", n=residents.DISPLAY_NAME_MAX)
    return messages.get(error.code, error.message)


def _page(form, errors=None, status=200, code_sent=False):
    return render_template("auth/register.html", form=form, errors=errors or {}, code_sent=code_sent), status


@bp.get("/register")
def register_page():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return _page(RegisterForm())


@bp.post("/register/code")
@command
def send_code():
    form = RegisterForm()
    if not form.validate():  # the CSRF token
        return _page(form, {"form": _("The form had expired; please send it again.")}, 400)
    try:
        phone = codes.parse_phone(form.phone.data)
        request_code_for(phone, "register")
    except ApiError as error:
        db.session.rollback()
        return _page(form, {error.field or "phone": _message(error)}, error.status)
    form.phone.data = phone
    flash(_("A text message is on its way to %(phone)s. Its code is valid for 5 minutes.", phone=mask_phone(phone)),
          "info")
    return _page(form, code_sent=True)


@bp.post("/register")
@command
def register():
    form = RegisterForm()
    if not form.validate():
        return _page(form, {"form": _("The form had expired; please send it again.")}, 400)
    data = {"phone": form.phone.data, "code": form.code.data, "password": form.password.data,
            "display_name": form.display_name.data}
    secret = current_app.config["SECRET_KEY"]
    try:
        registration = residents.parse_registration(data)
        user = residents.register_resident(registration, secret=secret)
    except ApiError as error:
        return _page(form, {error.field or "form": _message(error)}, error.status, code_sent=True)
    sessions.sign_in(user, remember=True)
    flash(_("Welcome! Your account is ready."), "info")
    return redirect(url_for("main.home"))
