"""Make MBTiles packs for the tests and the benchmark: small PNG tiles drawn with
Pillow (each shows its z/x/y, and an optional marker at a given WGS-84 point, so
a screenshot tells where a tile landed), over a box at some zooms."""
import io
import math
import sqlite3

from PIL import Image, ImageDraw

from civic.tiles.plan import tile_ranges


def tile_png(z, x, y, marker=None, size=256):
    """A tile: a light street-like grid and its address; `marker` (lat, lng) drawn as a red dot."""
    image = Image.new("RGB", (size, size), (236, 240, 232))
    draw = ImageDraw.Draw(image)
    for i in range(0, size, 64):
        draw.line([(i, 0), (i, size)], fill=(255, 255, 255), width=6)
        draw.line([(0, i), (size, i)], fill=(255, 255, 255), width=6)
    draw.rectangle([0, 0, size - 1, size - 1], outline=(200, 200, 190))
    draw.text((8, 8), f"{z}/{x}/{y}", fill=(90, 90, 90))
    if marker is not None:
        px, py = pixel_of(marker[0], marker[1], z)
        left, top = px - x * size, py - y * size
        if -10 <= left <= size + 10 and -10 <= top <= size + 10:
            draw.ellipse([left - 8, top - 8, left + 8, top + 8], fill=(220, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def pixel_of(lat, lng, z, size=256):
    """Web Mercator pixel of (lat, lng) at zoom z."""
    n = size * (1 << z)
    x = (lng + 180.0) / 360.0 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def write_pack(path, box, zooms, *, name="测试底图", attribution="© test tiles", fmt="png", marker=None,
               tile_bytes=None):
    """An MBTiles file covering `box` (west, south, east, north) at zooms (low, high).
    `tile_bytes(z, x, y)` replaces the drawn tiles (e.g. big blobs for a size test)."""
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);"
        "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);")
    metadata = {"name": name, "format": fmt, "bounds": ",".join(f"{v:.6f}" for v in box),
                "minzoom": str(zooms[0]), "maxzoom": str(zooms[1]), "attribution": attribution, "type": "baselayer"}
    connection.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
    count = 0
    for z in range(zooms[0], zooms[1] + 1):
        x0, x1, y0, y1 = tile_ranges(box, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                data = tile_bytes(z, x, y) if tile_bytes else tile_png(z, x, y, marker)
                connection.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
                count += 1
    connection.commit()
    connection.close()
    return count
