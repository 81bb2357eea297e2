"""Reading what we need from EXIF: GPS position, capture time, orientation.

Camera firmware writes EXIF in many slightly wrong ways (zero denominators,
missing references, text where numbers belong), so every reader here returns
None rather than raising on values it cannot make sense of.
"""
import math
import struct
from datetime import datetime, timedelta, timezone

from PIL import ExifTags

GPS_IFD = ExifTags.IFD.GPSInfo
EXIF_IFD = ExifTags.IFD.Exif
ORIENTATION = ExifTags.Base.Orientation
DATETIME = ExifTags.Base.DateTime
DATETIME_ORIGINAL = ExifTags.Base.DateTimeOriginal
OFFSET_TIME_ORIGINAL = ExifTags.Base.OffsetTimeOriginal


def _to_float(value):
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _ref(value):
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    return str(value or "").strip("\x00 ").upper()[:1]


def _degrees(parts):
    """Degrees from (d, m, s) rationals; also covers (d, m.mmmm, 0) and (d,)."""
    if isinstance(parts, (int, float)) or hasattr(parts, "denominator"):
        parts = (parts,)
    if not isinstance(parts, (tuple, list)) or not 1 <= len(parts) <= 3:
        return None
    values = [_to_float(p) for p in parts]
    if any(v is None or v < 0 for v in values):
        return None
    weights = (1, 60, 3600)
    return sum(v / w for v, w in zip(values, weights))


def gps_position(exif):
    """(lat, lng) in WGS-84 degrees, or None when absent, broken or (0, 0)."""
    try:
        gps = exif.get_ifd(GPS_IFD)
    except (OSError, SyntaxError, ValueError, struct.error):  # a malformed IFD pointer: treat as no GPS
        return None
    if not gps:
        return None
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude))
    lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude))
    if lat is None or lng is None:
        return None
    if _ref(gps.get(ExifTags.GPS.GPSLatitudeRef)) == "S":
        lat = -lat
    if _ref(gps.get(ExifTags.GPS.GPSLongitudeRef)) == "W":
        lng = -lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    if lat == 0 and lng == 0:  # what many phones write when they had no fix
        return None
    return lat, lng


def _parse_offset(value):
    if not isinstance(value, str) or len(value) < 6 or value[0] not in "+-":
        return None
    try:
        hours, minutes = int(value[1:3]), int(value[4:6])
    except ValueError:
        return None
    sign = 1 if value[0] == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def taken_at(exif, local_tz):
    """The capture time as naive UTC. EXIF times are local clock times; the
    offset tag says which zone, else the configured local zone is assumed."""
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except (OSError, SyntaxError, ValueError, struct.error):  # a malformed IFD pointer
        sub = {}
    raw = sub.get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "ignore")
    if not isinstance(raw, str):
        return None
    try:
        local = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _parse_offset(sub.get(OFFSET_TIME_ORIGINAL)) or local_tz
    return local.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def orientation(exif):
    try:
        value = int(exif.get(ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1
