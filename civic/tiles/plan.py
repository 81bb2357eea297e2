"""Which tiles a phone keeps for offline use: those covering its worker's grids.

For each of the worker's grids, every tile at each zoom of TILE_CACHE_ZOOMS
(within the pack's own range) whose square meets the grid's bounding box, and
that the pack holds, lowest zooms first; the plan stops before the tile that
would pass TILE_CACHE_MB, so the streets of the whole grid come before the
detail of part of it. Sizes are the pack's own (length(tile_data): SQLite reads
a blob's length without its bytes).
"""
import math

from geoalchemy2.shape import to_shape

from .packs import connect

MAX_LAT = 85.05112878


def tile_x(lng, z):
    return min((1 << z) - 1, max(0, int((lng + 180.0) / 360.0 * (1 << z))))


def tile_y(lat, z):
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    rad = math.radians(lat)
    return min((1 << z) - 1, max(0, int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * (1 << z))))


def tile_ranges(box, z):
    """(x0, x1, y0, y1), inclusive, of the tiles at zoom z meeting box (west, south, east, north)."""
    west, south, east, north = box
    return tile_x(west, z), tile_x(east, z), tile_y(north, z), tile_y(south, z)


def zoom_range(setting):
    """'14-18' → (14, 18)."""
    low, _, high = str(setting).partition("-")
    low, high = int(low), int(high or low)
    if not 0 <= low <= high <= 24:
        raise ValueError(f"a zoom range is 'low-high' between 0 and 24, not {setting!r}")
    return low, high


def _clip(box, bounds):
    west, south = max(box[0], bounds[0]), max(box[1], bounds[1])
    east, north = min(box[2], bounds[2]), min(box[3], bounds[3])
    return (west, south, east, north) if west <= east and south <= north else None


def plan_for(pack, boxes, zooms, cap_bytes):
    """{"tiles": [(z, x, y, bytes)], "bytes", "capped"} for the boxes (west, south, east, north)."""
    low, high = max(zooms[0], pack.minzoom), min(zooms[1], pack.maxzoom)
    boxes = [b for b in (_clip(box, pack.bounds) for box in boxes) if b is not None]
    chosen, seen, total, capped = [], set(), 0, False
    connection = connect(pack.path)
    try:
        for z in range(low, high + 1):
            for box in boxes:
                x0, x1, y0, y1 = tile_ranges(box, z)
                flip = (1 << z) - 1  # MBTiles rows count from the south (TMS)
                rows = connection.execute(
                    "SELECT tile_column, tile_row, length(tile_data) FROM tiles WHERE zoom_level = ? "
                    "AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ? ORDER BY tile_column, tile_row DESC",
                    (z, x0, x1, flip - y1, flip - y0)).fetchall()
                for x, row, size in rows:
                    key = (z, x, flip - row)
                    if key in seen:
                        continue
                    if total + size > cap_bytes:
                        capped = True
                        break
                    seen.add(key)
                    chosen.append((*key, size))
                    total += size
                if capped:
                    break
            if capped:
                break
    finally:
        connection.close()
    return {"tiles": chosen, "bytes": total, "capped": capped}


def grid_boxes(user):
    """The bounding boxes of the grids `user` works in."""
    return [to_shape(grid.polygon).bounds for grid in user.grids if grid.polygon is not None]
