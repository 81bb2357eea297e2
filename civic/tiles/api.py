"""GET /api/v1/tiles/plan: the tiles a phone keeps for its worker's grids."""
from flask import current_app, jsonify
from flask_login import current_user

from ..api import ApiBlueprint
from .packs import map_pack
from .plan import grid_boxes, plan_for, zoom_range

bp = ApiBlueprint("tiles_api", __name__)


@bp.get("/tiles/plan")
def cache_plan():
    """The tiles the phone keeps for its worker's grids: {pack, version, tiles: [url], count,
    bytes, capped, cap_bytes}; pack null when the county has no tile pack."""
    config = current_app.config
    pack = map_pack()
    cap = config["TILE_CACHE_MB"] * 2**20
    if pack is None:
        return jsonify(pack=None, version=None, tiles=[], count=0, bytes=0, capped=False, cap_bytes=cap)
    planned = plan_for(pack, grid_boxes(current_user), zoom_range(config["TILE_CACHE_ZOOMS"]), cap)
    urls = [f"/tiles/{pack.name}/{z}/{x}/{y}?v={pack.version}" for z, x, y, _size in planned["tiles"]]
    return jsonify(pack=pack.name, version=pack.version, tiles=urls, count=len(urls), bytes=planned["bytes"],
                   capped=planned["capped"], cap_bytes=cap)
