"""The JSON API, v1, for points and rewards: a resident's balance and ledger,
the catalogue, redeeming (idempotent by client_id), the masked leaderboard,
and staff marking a code used."""
from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from ..api import ApiBlueprint, json_body
from ..cases.models import Case
from ..errors import ApiError
from ..extensions import db
from ..intake import fields
from ..timeutil import isoformat
from ..transaction import command
from . import services as rewards
from .models import Redemption

bp = ApiBlueprint("rewards_api", __name__)


def item_to_dict(item):
    return {"id": item.id, "code": item.code, "name": item.name, "description": item.description,
            "cost": item.cost, "stock": item.stock}


def entry_to_dict(entry):
    case = db.session.get(Case, entry.case_id) if entry.case_id else None
    return {"id": entry.id, "kind": entry.kind, "points": entry.points, "reason": entry.reason,
            "case": {"id": case.id, "ref": case.ref} if case else None, "created_at": isoformat(entry.created_at)}


def redemption_to_dict(redemption, *, with_code=True):
    body = {"id": redemption.id, "item": item_to_dict(redemption.item), "cost": redemption.cost,
            "status": redemption.status, "created_at": isoformat(redemption.created_at),
            "used_at": isoformat(redemption.used_at)}
    if with_code:
        body["code"] = redemption.code
    return body


@bp.get("/me/points")
def my_points():
    user = current_user
    redemptions = db.session.scalars(select(Redemption).where(Redemption.user_id == user.id)
                                     .order_by(Redemption.id.desc()).limit(50)).all()
    return jsonify(balance=rewards.balance(user.id), entries=[entry_to_dict(e) for e in rewards.ledger(user.id)],
                   redemptions=[redemption_to_dict(r) for r in redemptions], on_leaderboard=user.on_leaderboard,
                   rules={"valid": rewards.setting("REWARD_POINTS_VALID"), "fixed": rewards.setting("REWARD_POINTS_FIXED"),
                          "daily_cap": rewards.setting("REWARD_DAILY_CAP"),
                          "cooldown_hours": rewards.setting("REWARD_COOLDOWN_HOURS")})


@bp.put("/me/leaderboard")
@command
def set_leaderboard():
    user = current_user
    value = json_body().get("on_leaderboard")
    if not isinstance(value, bool):
        raise ApiError(422, "invalid", "on_leaderboard must be true or false.", "on_leaderboard")
    user.on_leaderboard = value
    return jsonify(on_leaderboard=value)


@bp.get("/rewards")
def reward_catalogue():
    return jsonify(items=[item_to_dict(i) for i in rewards.catalogue()])


@bp.get("/rewards/leaderboard")
def reward_leaderboard():
    return jsonify(leaders=rewards.leaderboard())


@bp.post("/rewards/redemptions")
@command
def create_redemption():
    user = current_user
    data = json_body()
    client_id = fields.client_id(data)
    item_id = data.get("item_id")
    if not fields.is_integer(item_id) or item_id <= 0:
        raise ApiError(422, "invalid" if item_id is not None else "required", "item_id must be a reward's id.",
                       "item_id")
    result = rewards.redeem(user, item_id, client_id)
    return jsonify(redemption=redemption_to_dict(result.redemption),
                   balance=rewards.balance(user.id)), (201 if result.created else 200)


@bp.post("/rewards/redemptions/use")
@command
def use_redemption():
    """Staff at a service point hand the item over and mark the code used."""
    user = current_user
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(422, "required", "Give the code (code).", "code")
    redemption = rewards.use_code(code, user)
    return jsonify(redemption=redemption_to_dict(redemption, with_code=False))


@bp.get("/rewards/redemptions/<code>")
def check_redemption(code):
    """Staff look a code up before handing the item over."""
    redemption = db.session.scalar(select(Redemption).where(Redemption.code == rewards.normalise_code(code)))
    if redemption is None:
        raise ApiError(404, "not_found", "No such code.", "code")
    return jsonify(redemption=redemption_to_dict(redemption, with_code=False))
