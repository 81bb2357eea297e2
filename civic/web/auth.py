"""The site's login, logout and language switch, and the register page for
residents: the phone number, a "send code" button (a plain form post, no
JavaScript), the code and a password. The same services and limits as the API's
/auth/codes and /auth/register (accounts/api.py); the refusals are shown in the
page's language next to the field.
"""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts import codes, residents, sessions
from ..accounts.models import mask_phone
from ..accounts.services import SecondFactorRequired, change_password, log_in
from ..admin import audit
from ..errors import ApiError
from ..extensions import db
from ..ratelimit import count_text_sent, second_factor_due
from ..transaction import command, rollback
from ..urls import same_site_path

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=256)])
    code = StringField("code", validators=[Length(max=12)])  # the texted second factor, when asked for
    remember = BooleanField("remember", default=True)


@bp.route("/login", methods=["GET", "POST"])
@command
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status, second_factor = 200, None
    if form.validate_on_submit():
        try:
            user = log_in(form.username.data.strip(), form.password.data, (form.code.data or "").strip(),
                          second_factor_due=second_factor_due(), secret=current_app.config["SECRET_KEY"],
                          ip=request.remote_addr)
        except SecondFactorRequired as asked:
            second_factor, status, user = asked.extra["phone"], 401, None
        except ApiError as error:
            if error.field != "code":
                raise
            flash(_("The code is wrong or has expired; a new one is texted when you log in again without it."),
                  "error")
            return render_template("auth/login.html", form=form, second_factor=True), error.status
        if user is not None:
            sessions.sign_in(user, remember=form.remember.data)
            audit.record("login", actor=user, ip=request.remote_addr, target=user, after={"by": "site"})
            if user.must_change_password:
                return redirect(url_for("auth.password"))
            return redirect(same_site_path(request.args.get("next")) or url_for("main.home"))
        if second_factor is None:
            flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        flash(_("Please fill in both fields."), "error")
        status = 400
    return render_template("auth/login.html", form=form, second_factor=second_factor), status


@bp.route("/logout", methods=["POST"])
@command
def logout():
    sessions.sign_out(current_user)
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout-everywhere", methods=["POST"])
@command
def logout_everywhere():
    """End every session, remember cookie and device token of this user: a lost
    phone, a shared computer left logged in."""
    user = current_user._get_current_object()
    sessions.end_everywhere(user)
    sessions.sign_out(user)
    flash(_("You have logged out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@command
def password():
    """Change one's own password (and replace an import's one-time password)."""
    errors = {}
    if request.method == "POST":
        try:
            change_password(current_user, request.form.get("old"), request.form.get("new"))
        except ApiError as error:
            rollback()
            errors[error.field or "new"] = _password_message(error)
            return render_template("auth/password.html", errors=errors), error.status
        audit.record("user.password", actor=current_user, ip=request.remote_addr, target=current_user)
        flash(_("Your password is saved. Other devices logged in as you have been logged out."), "info")
        return redirect(same_site_path(request.args.get("next")) or url_for("main.home"), 303)
    return render_template("auth/password.html", errors=errors)


def _password_message(error):
    return {"wrong_password": _("The present password is not right."),
            "password_too_short": _("The password needs at least 8 characters."),
            "same_password": _("Choose a password other than the present one."),
            "required": _("Choose a password.")}.get(error.code, error.message)


@bp.route("/lang/<code>")
def set_language(code):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(same_site_path(request.args.get("next")) or url_for("main.home"))


# -- residents register --------------------------------------------------------------

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
        codes.issue_and_text(phone, "register", secret=current_app.config["SECRET_KEY"],
                             ip=request.remote_addr, sent=count_text_sent)
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
