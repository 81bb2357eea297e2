"""Grid polygons that tile a town without gaps or overlaps.

A lattice of points is jittered (inner points only, each moved once), and each
level-2 grid is the quadrilateral between four neighbouring lattice points, so
neighbours share their edges exactly. Level-1 grids are unions of blocks of
cells; streets are columns of level-1 grids.
"""
import math
import random

from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from ..spatial import as_multi


def lattice(origin, cols, rows, cell_w_deg, cell_h_deg, jitter, rng):
    lng0, lat0 = origin
    points = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            dx = dy = 0.0
            if 0 < i < cols and 0 < j < rows:
                dx = rng.uniform(-jitter, jitter) * cell_w_deg
                dy = rng.uniform(-jitter, jitter) * cell_h_deg
            points[i, j] = (lng0 + i * cell_w_deg + dx, lat0 + j * cell_h_deg + dy)
    return points


def cell(points, i, j):
    return Polygon([points[i, j], points[i + 1, j], points[i + 1, j + 1], points[i, j + 1]])


def town(center, *, streets, blocks_per_street, cells_x, cells_y, cell_m=(420, 520), seed=7):
    """Yield (street_index, block_index, [level-2 polygons]) for the whole town."""
    lat_c, lng_c = center
    cell_w = cell_m[0] / (111_320 * math.cos(math.radians(lat_c)))
    cell_h = cell_m[1] / 110_574
    cols, rows = streets * cells_x, blocks_per_street * cells_y
    origin = (lng_c - cols * cell_w / 2, lat_c - rows * cell_h / 2)
    points = lattice(origin, cols, rows, cell_w, cell_h, 0.22, random.Random(seed))
    for s in range(streets):
        for b in range(blocks_per_street):
            cells = [
                cell(points, s * cells_x + x, (blocks_per_street - 1 - b) * cells_y + (cells_y - 1 - y))
                for y in range(cells_y)
                for x in range(cells_x)
            ]
            yield s, b, cells


def union(polygons):
    return as_multi(unary_union(polygons))


def random_point_in(polygon, rng):
    min_x, min_y, max_x, max_y = polygon.bounds
    while True:
        point = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if polygon.contains(point):
            return point
