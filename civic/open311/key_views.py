"""Administrators manage the Open311 api_keys other systems file requests with:
/admin/open311-keys lists them (name, first characters, requests, last use),
makes a new one (shown once, never again) and revokes one. The same from the
command line: `flask --app app open311 create-key NAME`."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from .keys import create_key, revoke_key
from .models import ApiKey
from ..transaction import command

bp = Blueprint("open311_keys", __name__, url_prefix="/admin/open311-keys")


def _render(new_key=None, name="", error=None, status=200):
    keys = db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())).all()
    return render_template("open311/keys.html", keys=keys, new_key=new_key, name=name, error=error), status


@bp.get("/")
def index():
    return _render()


@bp.post("/")
@command
def create():
    name = request.form.get("name", "")
    try:
        raw, _key = create_key(name, created_by=current_user.id)
    except ValueError:
        return _render(name=name[:200], error=_("Give the system a name of 1 to 100 characters."), status=422)
    response = _render(new_key=raw)
    return response[0], 201, {"Cache-Control": "no-store"}


@bp.post("/<int:key_id>/revoke")
@command
def revoke(key_id):
    key = db.session.get(ApiKey, key_id) or abort(404)
    revoke_key(key)
    flash(_("The key of %(name)s no longer works.", name=key.name), "info")
    return redirect(url_for("open311_keys.index"), 303)
