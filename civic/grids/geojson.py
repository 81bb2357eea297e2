"""Grids as GeoJSON for the field app's map (coordinates rounded to 6 decimals,
about 0.1 m: enough for a boundary, and a third of the size of full floats)."""
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

PRECISION = 6


def _rounded(coordinates):
    if isinstance(coordinates, (int, float)):
        return round(float(coordinates), PRECISION)
    return [_rounded(c) for c in coordinates]


def grid_feature(grid):
    geometry = mapping(to_shape(grid.polygon))
    return {
        "type": "Feature",
        "id": grid.id,
        "geometry": {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])},
        "properties": {"id": grid.id, "code": grid.code, "name": grid.name, "level": grid.level},
    }


def feature_collection(grids):
    return {"type": "FeatureCollection", "features": [grid_feature(g) for g in grids]}
