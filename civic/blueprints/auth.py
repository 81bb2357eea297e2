"""Login and logout for the pages, and the language switch."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts import sessions
from ..accounts.services import SecondFactorRequired, log_in
from ..errors import ApiError
from ..ratelimit import second_factor_due
from ..urls import same_site_path
from ..transaction import command

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
            return redirect(same_site_path(request.args.get("next")) or url_for("main.home"))
        if second_factor is None:
            flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        flash(_("Please fill in both fields."), "error")
        status = 400
    return render_template("auth/login.html", form=form, second_factor=second_factor), status


@bp.route("/logout", methods=["POST"])
@login_required
@command
def logout():
    sessions.sign_out(current_user)
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
@command
def logout_everywhere():
    """End every session, remember cookie and device token of this user: a lost
    phone, a shared computer left logged in."""
    user = current_user._get_current_object()
    sessions.end_everywhere(user)
    sessions.sign_out(user)
    flash(_("You have logged out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(same_site_path(request.args.get("next")) or url_for("main.home"))
