"""The reply templates (惯用语) under /admin/replies: the list by step, a template
added or changed, one retired. Supervisors may read; changes are for
administrators (civic/routes.py). Every change is an entry in the audit log."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..cases import replies
from ..cases.models import ReplyTemplate
from ..errors import ApiError
from ..extensions import db
from ..grids.models import Category
from ..transaction import command

bp = Blueprint("admin_replies", __name__, url_prefix="/admin")


def _page(status=200, error=None, form=None):
    templates = db.session.scalars(select(ReplyTemplate).where(ReplyTemplate.active.is_(True))
                                   .order_by(ReplyTemplate.action, ReplyTemplate.category_id.is_not(None),
                                             ReplyTemplate.title)).all()
    categories = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)).all()
    return render_template("admin/replies.html", templates=templates, steps=replies.STEPS,
                           placeholders=replies.PLACEHOLDERS, categories=categories, error=error,
                           form=form or {}), status


@bp.get("/replies")
def reply_templates():
    return _page()


@bp.post("/replies")
@command
def reply_template_save():
    form = request.form.to_dict()
    template = None
    if form.get("id"):
        if not form["id"].isdigit():
            abort(404)
        template = db.session.get(ReplyTemplate, int(form["id"]))
        if template is None:
            abort(404)
    try:
        saved = replies.save(template, action=form.get("action"), title=form.get("title"), text=form.get("text"),
                             category_code=form.get("category") or None, actor=current_user, ip=request.remote_addr)
    except ApiError as error:
        return _page(422, error=error.message, form=form)
    flash(_("Reply template “%(title)s” saved.", title=saved.title), "info")
    return redirect(url_for("admin_replies.reply_templates"), 303)


@bp.post("/replies/<int:template_id>/retire")
@command
def reply_template_retire(template_id):
    template = db.session.get(ReplyTemplate, template_id)
    if template is None or not template.active:
        abort(404)
    replies.retire(template, actor=current_user, ip=request.remote_addr)
    flash(_("Reply template “%(title)s” removed.", title=template.title), "info")
    return redirect(url_for("admin_replies.reply_templates"), 303)
