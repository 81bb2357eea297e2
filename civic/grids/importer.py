"""Import grids from GeoJSON (what GIS departments hand over)."""
from geoalchemy2.shape import from_shape
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, shape
from shapely.validation import make_valid
from sqlalchemy import select

from ..extensions import db
from ..spatial import as_multi
from .models import Grid


class GridImportError(ValueError):
    pass


def _polygon(feature, code):
    try:
        geometry = shape(feature["geometry"])
    # How shape() reports a malformed GeoJSON geometry: a missing or wrong member
    # (KeyError, TypeError, AttributeError on a non-object) or bad coordinates.
    except (ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise GridImportError(f"grid {code}: unreadable geometry ({exc})") from None
    if not geometry.is_valid:
        geometry = make_valid(geometry)
    polygons = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
    if geometry.geom_type == "MultiPolygon":
        polygons = list(geometry.geoms)
    if not polygons:
        raise GridImportError(f"grid {code}: geometry is not a polygon")
    multi = as_multi(polygons[0]) if len(polygons) == 1 else MultiPolygon(polygons)
    min_x, min_y, max_x, max_y = multi.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise GridImportError(f"grid {code}: coordinates are not WGS-84 longitude/latitude")
    return multi


def import_geojson(collection, default_level=None):
    """Create or update grids by code; parents may come earlier or later in the file."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise GridImportError("expected a GeoJSON FeatureCollection")
    existing = {g.code: g for g in db.session.scalars(select(Grid))}
    created = updated = 0
    parents = {}
    for n, feature in enumerate(collection.get("features") or [], start=1):
        props = feature.get("properties") or {}
        code = str(props.get("code") or "").strip()
        if not code:
            raise GridImportError(f"feature {n}: no 'code' property")
        level = props.get("level", default_level)
        if level not in (1, 2, "1", "2"):
            raise GridImportError(f"grid {code}: 'level' must be 1 or 2")
        grid = existing.get(code)
        if grid is None:
            grid = Grid(code=code)
            existing[code] = grid
            db.session.add(grid)
            created += 1
        else:
            updated += 1
        grid.name = str(props.get("name") or code)[:100]
        grid.level = int(level)
        grid.street = props.get("street") or grid.street
        grid.polygon = from_shape(_polygon(feature, code), srid=4326)
        if props.get("parent"):
            parents[code] = str(props["parent"])
    for code, parent_code in parents.items():
        if parent_code not in existing:
            raise GridImportError(f"grid {code}: parent {parent_code} not found")
        existing[code].parent = existing[parent_code]
    db.session.flush()
    return created, updated
