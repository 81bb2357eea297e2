"""MBTiles packs (https://github.com/mapbox/mbtiles-spec, 1.3): an SQLite file with
a `metadata` table (name, format, bounds, minzoom, maxzoom, attribution) and a
`tiles` table or view (zoom_level, tile_column, tile_row in the TMS scheme,
tile_data). Raster only (png, jpg, webp): the field app draws them with Leaflet.

A pack is read with Python's own sqlite3, read-only, a connection per use: no
file is ever read into memory, whatever its size. Adding copies the upload into
TILE_DIR under a temporary name, checks it there, then renames it into place,
so a half-copied or broken file is never served.
"""
import hashlib
import os
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
         "webp": (b"RIFF",)}
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SQLITE_HEADER = b"SQLite format 3\x00"
COPY_CHUNK = 1 << 20


class PackError(ValueError):
    """A file that is not a usable tile pack; the message says why, for the admin."""


@dataclass(frozen=True)
class Pack:
    name: str
    path: Path
    format: str
    content_type: str
    minzoom: int
    maxzoom: int
    bounds: tuple          # west, south, east, north (WGS-84)
    attribution: str
    title: str
    version: str           # changes whenever the file does
    size: int

    def to_dict(self):
        return {"name": self.name, "format": self.format, "minzoom": self.minzoom, "maxzoom": self.maxzoom,
                "bounds": list(self.bounds), "attribution": self.attribution, "title": self.title,
                "version": self.version, "bytes": self.size,
                "tiles": f"/tiles/{self.name}/{{z}}/{{x}}/{{y}}?v={self.version}"}


def tile_dir(app=None):
    app = app or current_app
    path = Path(app.config["TILE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def connect(path):
    """A read-only connection; sqlite3.DatabaseError for a file that is not SQLite."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def _metadata(connection):
    try:
        return {str(k): str(v) for k, v in connection.execute("SELECT name, value FROM metadata")}
    except sqlite3.OperationalError as error:  # no such table (a damaged file is DatabaseError: read_pack says so)
        raise PackError(f"it has no MBTiles metadata table ({error})") from None


def _zooms(connection, metadata):
    try:
        low, high = connection.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
    except sqlite3.OperationalError as error:
        raise PackError(f"it has no MBTiles tiles table ({error})") from None
    if low is None:
        raise PackError("it holds no tiles")
    try:
        low, high = int(metadata.get("minzoom", low)), int(metadata.get("maxzoom", high))
    except ValueError:
        raise PackError("its minzoom or maxzoom is not a whole number") from None
    if not 0 <= low <= high <= 24:
        raise PackError(f"its zoom range {low}–{high} is not between 0 and 24")
    return low, high


def _bounds(metadata):
    text = metadata.get("bounds", "-180,-85.0511,180,85.0511")
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise PackError(f"its bounds '{text[:60]}' are not four numbers west,south,east,north") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise PackError(f"its bounds '{text[:60]}' are not a box in longitude and latitude")
    return west, south, east, north


def _version(path):
    stat = path.stat()
    return hashlib.sha256(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]


def read_pack(path, name=None):
    """The Pack of an MBTiles file, checked; PackError saying what is wrong with it."""
    path = Path(path)
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise PackError("it is not an MBTiles file (not an SQLite database)")
    try:
        connection = connect(path)
        try:
            metadata = _metadata(connection)
            fmt = metadata.get("format", "png").lower()
            if fmt not in FORMATS:
                raise PackError(f"its tiles are '{fmt[:20]}'; a pack for the map holds png, jpg or webp tiles")
            low, high = _zooms(connection, metadata)
            row = connection.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise PackError(f"it cannot be read as an MBTiles file ({error})") from None
    if row is None or not isinstance(row[0], bytes) or not row[0].startswith(MAGIC[fmt]):
        raise PackError(f"its tiles are not {fmt} images")
    return Pack(name=name or path.stem, path=path, format=fmt, content_type=FORMATS[fmt], minzoom=low,
                maxzoom=high, bounds=_bounds(metadata), attribution=metadata.get("attribution", ""),
                title=metadata.get("name", name or path.stem), version=_version(path), size=path.stat().st_size)


def check_name(name):
    if not NAME.match(name or ""):
        raise PackError("a pack's name is lower-case letters, digits, - and _ (at most 63)")
    return name


def add_pack(source, name=None, app=None):
    """Copy `source` (a path, or a binary stream) into TILE_DIR as `name`.mbtiles,
    replacing a pack of that name; returns its Pack. Streams in 1 MB chunks."""
    directory = tile_dir(app)
    if name is None:
        name = Path(getattr(source, "name", None) or str(source)).stem.lower()
    check_name(name)
    incoming = directory / f".incoming-{uuid.uuid4().hex}.mbtiles"
    try:
        if isinstance(source, (str, os.PathLike)):
            shutil.copyfile(source, incoming)
        else:
            with incoming.open("wb") as out:
                shutil.copyfileobj(source, out, COPY_CHUNK)
        read_pack(incoming, name)  # a broken file goes no further
        target = directory / f"{name}.mbtiles"
        os.replace(incoming, target)
    finally:
        incoming.unlink(missing_ok=True)
    return read_pack(target, name)


def list_packs(app=None):
    """The packs in TILE_DIR, each read once per version of its file (get_pack); a file
    put there by hand that is not a pack is not listed, nor served."""
    found = (get_pack(path.stem, app) for path in sorted(tile_dir(app).glob("*.mbtiles")))
    return [pack for pack in found if pack is not None]


_READ = {}  # (path, size, mtime) → Pack: a tile request reads no metadata


def get_pack(name, app=None):
    """The pack called `name`, or None. Read once per version of its file."""
    if not NAME.match(name or ""):
        return None
    path = tile_dir(app) / f"{name}.mbtiles"
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _READ:
        try:
            pack = read_pack(path, name)
        except (PackError, OSError):
            return None
        if len(_READ) > 32:
            _READ.clear()
        _READ[key] = pack
    return _READ[key]


def remove_pack(name, app=None):
    """True when a pack was removed."""
    pack = get_pack(name, app)
    if pack is None:
        return False
    pack.path.unlink()
    return True


def map_pack(app=None):
    """The pack the maps draw: MAP_PACK if set, else the only (or first) pack; None without one."""
    app = app or current_app
    wanted = app.config.get("MAP_PACK")
    if wanted:
        return get_pack(wanted, app)
    packs = list_packs(app)
    return packs[0] if packs else None


def tile(pack, z, x, y):
    """The bytes of tile z/x/y (the XYZ scheme of web maps), or None."""
    if not (pack.minzoom <= z <= pack.maxzoom and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
        return None
    connection = connect(pack.path)
    try:
        row = connection.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                                 "AND tile_row = ?", (z, x, (1 << z) - 1 - y)).fetchone()
    finally:
        connection.close()
    return row[0] if row else None
