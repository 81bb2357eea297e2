"""The JSON API, v1, for the map of the county: the categories a report may have,
and the signed-in user's own grids."""
from flask import jsonify
from flask_login import current_user

from ..api import ApiBlueprint
from .catalogue import active_categories
from .geojson import feature_collection

bp = ApiBlueprint("grids_api", __name__)


@bp.get("/categories")
def categories():
    rows = active_categories()
    return jsonify(categories=[
        {
            "code": c.code,
            "name": c.name_zh,
            "name_en": c.name_en,
            "kind": c.kind,
            "class_code": c.class_code,
            "class_name": c.class_name,
            "icon": c.icon,
            "urgent": c.urgent,
            "after_photo_required": c.after_photo_required,
        }
        for c in rows
    ])


@bp.get("/me/grids")
def my_grids():
    """The user's grids as GeoJSON, level-1 first."""
    user = current_user
    grids = sorted((g for g in user.grids if g.active), key=lambda grid: (grid.level, grid.code))
    return jsonify(feature_collection(grids))
