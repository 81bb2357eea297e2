"""Reading the grid files a county's GIS department hands over: GeoJSON, a zipped
Shapefile (.shp, .shx, .dbf, .prj, .cpg), KML or KMZ. Each becomes a list of
SourceFeatures (properties and a shapely geometry, still in the file's
coordinate system) and what the file says of its coordinate system, if anything.

Nothing here knows grids; grids/plan.py checks the features. A file that cannot
be read at all raises SourceError with a message for the person who sent it; a
single unreadable feature is kept with its error, so the preview names it.
"""
import io
import json
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree.ElementTree import ParseError

import shapefile  # pyshp
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from flask_babel import lazy_gettext as _l
from shapely.errors import ShapelyError
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
    shape,
)

from . import crs as systems

MAX_BYTES = 40 * 1024 * 1024            # an upload; a county's 10,000 grids are about 10 MB of GeoJSON
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # what a zip may expand to (a zip bomb is refused before it is read)
FORMATS = ("geojson", "shapefile", "kml")

# The columns a GIS export may name them by: English, and the Chinese a county's
# attribute table uses. Compared after NFKC and lower-casing.
FIELD_NAMES = {
    "code": ("code", "grid_code", "gridcode", "编码", "网格编码", "代码", "编号"),
    "name": ("name", "grid_name", "名称", "网格名称", "名字"),
    "level": ("level", "级别", "层级", "网格级别"),
    "parent": ("parent", "parent_code", "上级", "上级编码", "上级网格", "所属网格"),
    "street": ("street", "town", "街道", "乡镇", "街道乡镇", "所属街道"),
    "kind": ("kind", "type", "类型"),
    "buffer": ("buffer", "width", "buffer_m", "宽度", "缓冲", "缓冲宽度"),
}
_ALIASES = {alias: key for key, aliases in FIELD_NAMES.items() for alias in aliases}


class SourceError(ValueError):
    """The file as a whole cannot be read: the message says why."""


@dataclass
class SourceFeature:
    number: int                      # 1-based, in the file's order (the preview names features by it)
    properties: dict = field(default_factory=dict)
    geometry: object = None          # shapely, in the file's coordinate system
    error: str | None = None         # why the geometry could not be read

    @property
    def label(self):
        code = self.properties.get("code")
        return f"feature {self.number}" + (f" ({code})" if code else "")


@dataclass
class Source:
    format: str
    features: list
    crs: str | None                  # what the file says (a .prj, a GeoJSON "crs"), else None
    crs_text: str | None = None      # the file's own words for it, for the preview


def read(data, filename):
    """The features of an uploaded file, by its name's extension."""
    if len(data) > MAX_BYTES:
        raise SourceError(_l("The file is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    suffix = PurePosixPath((filename or "").lower()).suffix
    if suffix in (".geojson", ".json"):
        return read_geojson(data)
    if suffix == ".kml":
        return read_kml(data)
    if suffix in (".zip", ".kmz"):
        return read_zip(data)
    raise SourceError(_l("Send a GeoJSON (.geojson, .json), a zipped Shapefile (.zip), or a KML or KMZ file."))


def normalise_properties(raw):
    """The properties this app reads, under its own names; the rest is dropped."""
    found = {}
    for key, value in (raw or {}).items():
        name = _ALIASES.get(unicodedata.normalize("NFKC", str(key)).strip().lower())
        if name and name not in found and value not in (None, ""):
            found[name] = unicodedata.normalize("NFKC", str(value)).strip() if isinstance(value, str) else value
    return found


def _geometry(geo_interface):
    try:
        return shape(geo_interface), None
    # How shape() reports a malformed geometry: a missing or wrong member
    # (KeyError, TypeError, AttributeError on a non-object) or bad coordinates.
    except (ShapelyError, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        return None, _l("unreadable geometry (%(why)s)", why=str(exc)[:200])


# -- GeoJSON ---------------------------------------------------------------------

_EPSG = re.compile(r"EPSG:*(\d+)$", re.IGNORECASE)


def _named_crs(name):
    """What a GeoJSON 2008 "crs" member or a .prj names, in our terms."""
    text = (name or "").strip()
    match = _EPSG.search(text)
    if match:
        return {"4326": systems.WGS84, "4490": systems.CGCS2000}.get(match.group(1), "other")
    if text.upper().endswith("CRS84"):
        return systems.WGS84
    return "other"


def read_geojson(data):
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(_l("The GeoJSON is not UTF-8 text.")) from None
    except json.JSONDecodeError as exc:
        raise SourceError(_l("The GeoJSON cannot be read: %(why)s at line %(line)d.", why=exc.msg, line=exc.lineno)) from None
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = {"type": "FeatureCollection", "features": [document]}
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise SourceError(_l("Expected a GeoJSON FeatureCollection."))
    crs_name = ((document.get("crs") or {}).get("properties") or {}).get("name") \
        if isinstance(document.get("crs"), dict) else None
    features = []
    for number, raw in enumerate(document["features"], start=1):
        if not isinstance(raw, dict):
            features.append(SourceFeature(number, error=_l("not a GeoJSON Feature")))
            continue
        geometry, error = _geometry(raw.get("geometry")) if raw.get("geometry") else (None, _l("no geometry"))
        properties = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
        features.append(SourceFeature(number, normalise_properties(properties), geometry, error))
    return Source("geojson", features, _named_crs(crs_name) if crs_name else None, crs_name)


# -- Shapefile -------------------------------------------------------------------

def _prj_crs(wkt):
    text = wkt.upper()
    if text.lstrip().startswith(("PROJCS", "PROJCRS")):
        return "projected"
    if "CGCS" in text or "CHINA_GEODETIC_COORDINATE_SYSTEM_2000" in text or "CHINA GEODETIC COORDINATE SYSTEM 2000" in text:
        return systems.CGCS2000
    if "WGS" in text and "84" in text:
        return systems.WGS84
    return "other"


def _zip_members(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError):
        raise SourceError(_l("The zip file cannot be opened (damaged, or not a zip).")) from None
    if sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        raise SourceError(_l("The zip expands to more than %(mb)d MB.", mb=MAX_UNZIPPED_BYTES // (1024 * 1024)))
    return archive, [info for info in infos if not info.is_dir() and "__MACOSX" not in info.filename]


def _read_member(archive, info):
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:  # RuntimeError: encrypted member
        raise SourceError(_l("%(name)s in the zip cannot be read (%(why)s).", name=info.filename, why=exc)) from None


def read_zip(data):
    archive, members = _zip_members(data)
    by_suffix = {}
    for info in members:
        by_suffix.setdefault(PurePosixPath(info.filename.lower()).suffix, []).append(info)
    if by_suffix.get(".kml"):
        return read_kml(_read_member(archive, by_suffix[".kml"][0]))
    shps = by_suffix.get(".shp", [])
    if not shps:
        raise SourceError(_l("The zip holds no Shapefile (.shp) and no KML."))
    if len(shps) > 1:
        raise SourceError(_l("The zip holds more than one Shapefile; send one layer per file."))
    stem = shps[0].filename[:-4]
    parts = {}
    for info in members:
        if info.filename[:-4] == stem or info.filename.rsplit(".", 1)[0] == stem:
            parts[PurePosixPath(info.filename.lower()).suffix] = _read_member(archive, info)
    if ".dbf" not in parts:
        raise SourceError(_l("The Shapefile's .dbf (its attribute table) is missing from the zip."))
    prj = parts.get(".prj", b"").decode("latin-1").strip() or None
    encoding = (parts.get(".cpg", b"").decode("ascii", "ignore").strip() or None)
    return Source("shapefile", _shapefile_features(parts, encoding), _prj_crs(prj) if prj else None, prj)


def _codepage(name):
    name = (name or "").lower().replace("-", "")
    return {"utf8": "utf-8", "936": "gbk", "cp936": "gbk", "gbk": "gbk", "gb2312": "gbk", "gb18030": "gb18030"}.get(
        name, name or None)


def _shapefile_features(parts, encoding):
    # Without a .cpg, a Chinese county's attribute table is UTF-8 (new ArcGIS, QGIS)
    # or GBK (older tools): tried in that order.
    for candidate in ([_codepage(encoding)] if encoding else ["utf-8", "gb18030"]):
        try:
            return _shapefile_records(parts, candidate)
        except _WrongEncoding:
            continue
        except LookupError:
            raise SourceError(_l("The .cpg names an encoding this server does not know: %(name)s.", name=encoding)) from None
    raise SourceError(_l("The attribute table (.dbf) is neither UTF-8 nor GBK text; add a .cpg naming its encoding."))


class _WrongEncoding(Exception):
    pass


def _shapefile_records(parts, encoding):
    try:
        reader = shapefile.Reader(shp=io.BytesIO(parts[".shp"]), shx=io.BytesIO(parts[".shx"]) if ".shx" in parts
                                  else None, dbf=io.BytesIO(parts[".dbf"]), encoding=encoding)
        fields = [f[0] for f in reader.fields[1:]]
        features = []
        for number, record in enumerate(reader.iterShapeRecords(), start=1):
            properties = normalise_properties(dict(zip(fields, record.record)))
            if record.shape.shapeType == shapefile.NULL:
                features.append(SourceFeature(number, properties, None, _l("no geometry")))
                continue
            geometry, error = _geometry(record.shape.__geo_interface__)
            features.append(SourceFeature(number, properties, geometry, error))
        return features
    except UnicodeDecodeError:
        raise _WrongEncoding() from None
    except shapefile.ShapefileException as exc:
        if "decode" in str(exc):  # how pyshp says a name or text is not in this encoding
            raise _WrongEncoding() from None
        raise SourceError(_l("The Shapefile cannot be read: %(why)s.", why=exc)) from None
    except (struct.error, ValueError, IndexError, OSError) as exc:
        raise SourceError(_l("The Shapefile is damaged: %(why)s.", why=exc)) from None


# -- KML -------------------------------------------------------------------------

def _tag(element):
    return element.tag.rsplit("}", 1)[-1]


def _children(element, name):
    return [child for child in element if _tag(child) == name]


def _find_all(element, name):
    return [node for node in element.iter() if _tag(node) == name]


def _coordinates(element):
    text = " ".join(node.text or "" for node in _find_all(element, "coordinates"))
    points = []
    for token in text.split():
        values = token.split(",")
        points.append((float(values[0]), float(values[1])))
    return points


def _kml_geometry(element):
    kind = _tag(element)
    if kind == "Polygon":
        outer = [_coordinates(b) for b in _children(element, "outerBoundaryIs")]
        inner = [_coordinates(b) for b in _children(element, "innerBoundaryIs")]
        return Polygon(outer[0], inner) if outer else None
    if kind == "LineString":
        return LineString(_coordinates(element))
    if kind == "Point":
        return Point(_coordinates(element)[0])
    if kind == "MultiGeometry":
        parts = [g for g in (_kml_geometry(child) for child in element) if g is not None]
        if parts and all(p.geom_type == "Polygon" for p in parts):
            return MultiPolygon(parts)
        if parts and all(p.geom_type == "LineString" for p in parts):
            return MultiLineString(parts)
        return parts[0] if len(parts) == 1 else None
    return None


_GEOMETRY_TAGS = ("Polygon", "LineString", "Point", "MultiGeometry")


def read_kml(data):
    try:
        root = ElementTree.fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise SourceError(_l("The KML cannot be read: %(why)s.", why=exc)) from None
    features = []
    for number, placemark in enumerate(_find_all(root, "Placemark"), start=1):
        properties = {}
        for data_node in _find_all(placemark, "Data") + _find_all(placemark, "SimpleData"):
            value = data_node.text if _tag(data_node) == "SimpleData" else \
                next((v.text for v in _children(data_node, "value")), None)
            properties[data_node.get("name") or ""] = value
        name = next((n.text for n in _children(placemark, "name")), None)
        properties = normalise_properties(properties)
        if name and "name" not in properties:
            properties["name"] = name.strip()
        if "code" not in properties and name:
            properties["code"] = name.strip()
        geometry_nodes = [child for child in placemark if _tag(child) in _GEOMETRY_TAGS]
        try:
            geometry = _kml_geometry(geometry_nodes[0]) if geometry_nodes else None
            error = None if geometry is not None else _l("no polygon or line")
        except (ValueError, IndexError, ShapelyError) as exc:
            geometry, error = None, _l("unreadable coordinates (%(why)s)", why=exc)
        features.append(SourceFeature(number, properties, geometry, error))
    if not features:
        raise SourceError(_l("The KML has no Placemark."))
    return Source("kml", features, systems.WGS84, _l("KML (WGS-84 by its standard)"))
