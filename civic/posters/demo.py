"""Demo posters for `flask seed-demo`: a poster for each of the first few grids
and three places (a park gate, a market, a bus stop) with their positions, as
a county puts them up. Codes come from a fixed seed, so every demo has the same."""
import random

from .models import Poster
from .services import new_code
from ..extensions import db

GRID_POSTERS = 3
# (kind, name, address, which level-2 grid, where in it as fractions of its bounds)
PLACES = [
    ("park", "人民公园（东门）", "府前街与公园路交叉口东北角", 1, (0.6, 0.5)),
    ("market", "东关农贸市场", "东关大街 88 号", 2, (0.4, 0.6)),
    ("bus_stop", "府前街公交站（往火车站方向）", "府前街 12 号对面", 3, (0.5, 0.3)),
]


def _point_in(shape, fx, fy):
    """A point inside the grid near the given fraction of its bounding box."""
    from shapely.geometry import Point

    minx, miny, maxx, maxy = shape.bounds
    point = Point(minx + (maxx - minx) * fx, miny + (maxy - miny) * fy)
    return point if shape.contains(point) else shape.representative_point()


def seed_posters(level2, seed=20261124):
    """`level2`: the demo's level-2 grids with their in-memory `shape`. Flushes, does not commit."""
    rng = random.Random(seed)
    made = []
    for grid in level2[:GRID_POSTERS]:
        centre = grid.shape.representative_point()
        made.append(Poster(code=new_code(rng), name=grid.name, kind="grid", grid_id=grid.id,
                           lat=round(centre.y, 6), lng=round(centre.x, 6), active=True))
    for kind, name, address, index, (fx, fy) in PLACES:
        grid = level2[index % len(level2)]
        point = _point_in(grid.shape, fx, fy)
        made.append(Poster(code=new_code(rng), name=name, kind=kind, grid_id=grid.id, address=address,
                           lat=round(point.y, 6), lng=round(point.x, 6), active=True))
    db.session.add_all(made)
    db.session.flush()
    return made
