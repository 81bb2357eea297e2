"""A small map drawn from our own grid polygons, as SVG.

No tile server is needed (intranets in China often have none): the case's
grid, its neighbours and the reported point are enough to see where it is.
"""
import math

import shapely
from flask import current_app

from .lookup import get_index

SIZE = 320  # px, the SVG's viewBox width
MARGIN_DEG = 0.004  # about 400 m around the point


def _project(box):
    min_x, min_y, max_x, max_y = box
    x_scale = math.cos(math.radians((min_y + max_y) / 2))
    width = (max_x - min_x) * x_scale
    height = max_y - min_y
    scale = SIZE / max(width, height)

    def project(lng, lat):
        return round((lng - min_x) * x_scale * scale, 1), round((max_y - lat) * scale, 1)

    return project, round(width * scale), round(height * scale)


def _path(geometry, project):
    parts = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        points = [project(x, y) for x, y in polygon.exterior.coords]
        parts.append("M" + " L".join(f"{x},{y}" for x, y in points) + " Z")
    return " ".join(parts)


def case_map(case, *, approximate=False):
    """Data for the case page's SVG map, or None when the case has no point.
    approximate: the point rounded to about 100 m, for the public board."""
    if case.lat is None:
        return None
    lat, lng = (round(case.lat, 3), round(case.lng, 3)) if approximate else (case.lat, case.lng)
    box = (lng - MARGIN_DEG, lat - MARGIN_DEG * 0.8, lng + MARGIN_DEG, lat + MARGIN_DEG * 0.8)
    project, width, height = _project(box)
    grids = [
        {"code": hit.code, "name": hit.name, "path": _path(geometry, project), "own": hit.id == case.grid_id,
         "label": project(*shapely.Point(geometry.representative_point()).coords[0])}
        for hit, geometry in get_index(current_app).nearby(shapely.box(*box))
    ]
    x, y = project(lng, lat)
    return {"width": width, "height": height, "grids": grids, "point": {"x": x, "y": y}}


def overview_map(points, grid_box):
    """Many points (lat, lng, status) over the grids inside `grid_box`
    (min_lng, min_lat, max_lng, max_lat): the public board's map."""
    project, width, height = _project(grid_box)
    grids = [{"code": hit.code, "name": hit.name, "path": _path(geometry, project)}
             for hit, geometry in get_index(current_app).nearby(shapely.box(*grid_box))]
    dots = [{"x": project(lng, lat)[0], "y": project(lng, lat)[1], "status": status, "ref": ref}
            for lat, lng, status, ref in points]
    return {"width": width, "height": height, "grids": grids, "points": dots}


def grid_box(grid=None):
    """(min_lng, min_lat, max_lng, max_lat) around one grid, or around all level-2
    grids (the town); None when there are none."""
    from geoalchemy2.shape import to_shape
    from shapely import union_all
    from sqlalchemy import select

    from ..extensions import db
    from .models import Grid

    if grid is not None:
        return to_shape(grid.polygon).buffer(0.002).bounds
    polygons = db.session.scalars(select(Grid.polygon).where(Grid.level == 2, Grid.active.is_(True))).all()
    if not polygons:
        return None
    return union_all([to_shape(p) for p in polygons]).buffer(0.002).bounds


def inside(box, lat, lng):
    return box[0] <= lng <= box[2] and box[1] <= lat <= box[3]


SHADES = 5  # light to dark; 0 is "none"


def shaded_map(box, counts, clusters=()):
    """The level-2 grids inside `box`, each shaded by its count ({grid_id: n}):
    0 unshaded, then five equal steps up to the largest count. For the supervisors'
    map of open or overdue cases; each grid is a link to its list. `clusters`:
    (lat, lng, n) of nearby cases, drawn as circles sized by n where n ≥ 2."""
    project, width, height = _project(box)
    top = max(counts.values(), default=0)
    grids = []
    for hit, geometry in get_index(current_app).nearby(shapely.box(*box)):
        if getattr(hit, "level", 2) != 2:
            continue
        count = counts.get(hit.id, 0)
        shade = -(-count * SHADES // top) if count else 0  # ceil: the largest count is the darkest
        grids.append({"code": hit.code, "name": hit.name, "path": _path(geometry, project), "count": count,
                      "shade": shade,
                      "label": project(*shapely.Point(geometry.representative_point()).coords[0])})
    legend = []  # (lowest, highest count, shade): the counts whose ceil(count * SHADES / top) is the shade
    for shade in range(1, SHADES + 1) if top else ():
        low, high = (shade - 1) * top // SHADES + 1, shade * top // SHADES
        if low <= high:
            legend.append((low, high, shade))
    clusters = [(lat, lng, n) for lat, lng, n in clusters if n >= 2 and inside(box, lat, lng)]  # one case is no cluster
    biggest = max((n for _lat, _lng, n in clusters), default=0)
    dots = [{"x": x, "y": y, "n": n, "r": round(1.5 + 4.5 * math.sqrt(n / biggest), 1)}
            for lat, lng, n in clusters for x, y in [project(lng, lat)]]
    return {"width": width, "height": height, "grids": grids, "legend": legend, "clusters": dots}
