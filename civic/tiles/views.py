"""The tile packs on the web: tiles and each pack's TileJSON (the phone's cache plan: api.py)."""
from flask import Blueprint, Response, abort, jsonify

from .packs import get_pack, tile

bp = Blueprint("tiles", __name__)

# A tile's URL carries its pack's version (?v=), so a changed pack is new URLs:
# the browser and the phone keep a tile as long as they like.
TILE_CACHE = "public, max-age=31536000, immutable"


@bp.get("/tiles/<pack>/<int:z>/<int:x>/<int:y>")
def tile_image(pack, z, x, y):
    """A tile of the pack; 404 for a pack that does not exist, 204 for a tile it does not hold."""
    found = get_pack(pack)
    if found is None:
        abort(404)
    data = tile(found, z, x, y)
    if data is None:
        response = Response(status=204)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response
    response = Response(data, mimetype=found.content_type)
    response.headers["Cache-Control"] = TILE_CACHE
    return response


@bp.get("/tiles/<pack>.json")
def tilejson(pack):
    """The pack as TileJSON 3.0 (bounds, zooms, attribution, the tile URL template)."""
    found = get_pack(pack)
    if found is None:
        abort(404)
    return jsonify(tilejson_of(found))


def tilejson_of(pack):
    return {"tilejson": "3.0.0", "name": pack.title, "attribution": pack.attribution, "scheme": "xyz",
            "tiles": [pack.to_dict()["tiles"]], "minzoom": pack.minzoom, "maxzoom": pack.maxzoom,
            "bounds": list(pack.bounds), "version": pack.version, "format": pack.format}
