"""Rewards for staff: the service-point page where a resident's one-time code is
checked and marked handed over, and the catalogue (items, stock) that
administrators and supervisors keep."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select, update

from ..errors import ApiError
from ..extensions import db
from . import services as rewards
from .models import Redemption, RewardItem
from ..transaction import command

bp = Blueprint("rewards", __name__, url_prefix="/rewards")
MAX_STOCK, MAX_COST = 100_000, 1_000_000


def _find(code):
    code = rewards.normalise_code(code)
    return db.session.scalar(select(Redemption).where(Redemption.code == code)) if code else None


@bp.route("/codes", methods=["GET", "POST"])
@command
def codes():
    """Look a code up (GET ?code=), then mark it handed over (POST)."""
    if request.method == "POST":
        try:
            redemption = rewards.use_code(request.form.get("code", ""), current_user)
            flash(_("Handed over: %(item)s.", item=redemption.item.name), "success")
        except ApiError as error:
            flash(_("This code was already used.") if error.code == "code_used" else _("No such code."), "error")
        return redirect(url_for("rewards.codes", code=request.form.get("code", "")))
    code = request.args.get("code", "").strip()
    found = _find(code) if code else None
    status = 404 if code and found is None else 200
    return render_template("rewards/codes.html", code=code, found=found), status


def _int(name, low, high):
    try:
        value = int(request.form.get(name, ""))
    except ValueError:
        return None
    return value if low <= value <= high else None


@bp.get("/")
def catalogue():
    items = db.session.scalars(select(RewardItem).order_by(RewardItem.sort_order, RewardItem.id)).all()
    issued = dict(db.session.execute(select(Redemption.item_id, func.count(Redemption.id))
                                     .group_by(Redemption.item_id)).all())
    return render_template("rewards/catalogue.html", items=items, issued=issued)


@bp.post("/")
@command
def add_item():
    name = (request.form.get("name") or "").strip()[:100]
    description = (request.form.get("description") or "")[:500]
    cost, stock = _int("cost", 1, MAX_COST), _int("stock", 0, MAX_STOCK)
    if not name or cost is None or stock is None or "\x00" in name + description:
        flash(_("Give a name, a cost of at least 1 point and a stock of 0 or more."), "error")
        return redirect(url_for("rewards.catalogue"))
    code = f"R{(db.session.scalar(select(func.max(RewardItem.id))) or 0) + 1:04d}"
    db.session.add(RewardItem(code=code, name=name, description=description, cost=cost, stock=stock))
    flash(_("Added: %(name)s.", name=name), "success")
    return redirect(url_for("rewards.catalogue"))


@bp.post("/<int:item_id>")
@command
def update_item(item_id):
    """Restock (add to what is there, so a redemption in between is not undone) or withdraw."""
    item = db.session.get(RewardItem, item_id) or abort(404)
    if "withdraw" in request.form or "restore" in request.form:
        item.active = "restore" in request.form
    else:
        added = _int("add", -MAX_STOCK, MAX_STOCK)
        if added is None:
            flash(_("Give a whole number to add to the stock."), "error")
            return redirect(url_for("rewards.catalogue"))
        done = db.session.execute(update(RewardItem).where(RewardItem.id == item.id,
                                                              RewardItem.stock + added >= 0)
                                  .values(stock=RewardItem.stock + added).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            db.session.rollback()
            flash(_("The stock cannot go below zero."), "error")
            return redirect(url_for("rewards.catalogue"))
    flash(_("Saved."), "success")
    return redirect(url_for("rewards.catalogue"))
