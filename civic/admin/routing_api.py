"""GET /api/v1/routing/preview: where a new case of a category at a point (or in a
grid) would go, and the rule that decides (dispatchers, supervisors and
administrators: civic/routes.py). The same answer as the administrators' tester,
from the same grids/routing.route the intake uses."""
import math

from flask import jsonify, request
from sqlalchemy import select

from ..api import ApiBlueprint
from ..errors import ApiError
from ..extensions import db
from ..grids.models import Category, Grid
from ..intake.reports import grid_at
from .routing_admin import who_gets

bp = ApiBlueprint("routing_api", __name__)


def _coordinate(name, limit):
    text = request.args.get(name, "")
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, "invalid", f"{name} must be a number.", name) from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ApiError(400, "invalid", f"{name} must be from {-limit} to {limit}.", name)
    return value


@bp.get("/routing/preview")
def routing_preview():
    code = request.args.get("category", "")
    category = db.session.scalar(select(Category).where(Category.code == code[:16])) if code else None
    if category is None:
        raise ApiError(422, "unknown_category", f"Unknown category '{code[:16]}'.", "category")
    if "lat" in request.args or "lng" in request.args:
        grid = grid_at(_coordinate("lat", 90), _coordinate("lng", 180))
    elif request.args.get("grid"):
        grid = db.session.scalar(select(Grid).where(Grid.code == request.args["grid"][:32]))
        if grid is None:
            raise ApiError(422, "unknown_grid", f"Unknown grid '{request.args['grid'][:32]}'.", "grid")
    else:
        raise ApiError(400, "location_required", "Give lat and lng (or a grid code).", "lat")
    return jsonify(who_gets(category, grid).to_json())
