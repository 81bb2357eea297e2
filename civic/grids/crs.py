"""The coordinate systems a county's grids come in, and their conversion to WGS-84.

- WGS-84 (EPSG:4326) and CGCS2000 (EPSG:4490): the GIS department's exports. The
  two differ by centimetres (the same ellipsoid to 0.1 mm, a frame a few cm apart),
  so CGCS2000 is taken as WGS-84.
- GCJ-02 (国测局坐标, "Mars coordinates"): what anything drawn on AMap (高德) or
  Tencent maps is in, offset from WGS-84 by 100–700 m by a published obfuscation
  formula (GB 20263's algorithm as it circulates: the Krasovsky-ellipsoid
  functions below). Its inverse has no closed form; it is solved by fixed-point
  iteration to below a millimetre (the "exact" conversion, not the one-step
  approximation that is off by up to a few metres).
- BD-09 (百度坐标): GCJ-02 further offset by Baidu's formula; inverted the same way.

Outside mainland China the map providers apply no offset, and neither do we.
All functions work on NumPy arrays (shapely.transform hands them a whole
geometry's coordinates at once), longitude first.
"""
import numpy as np
import shapely

WGS84, CGCS2000, GCJ02, BD09 = "wgs84", "cgcs2000", "gcj02", "bd09"
NAMES = {WGS84: "WGS-84 (EPSG:4326)", CGCS2000: "CGCS2000 (EPSG:4490)", GCJ02: "GCJ-02 (AMap, Tencent)",
         BD09: "BD-09 (Baidu)"}
CHOICES = tuple(NAMES)

_A = 6378245.0                     # Krasovsky 1940 semi-major axis, as the formula uses it
_EE = 0.00669342162296594323       # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0     # Baidu's constant
TOLERANCE = 1e-10                  # degrees (about 0.01 mm): when the iteration stops
MAX_ROUNDS = 30

# The box the offsets are applied in (the formula's own test), and the box a
# county of mainland China lies in: a coordinate outside it is probably in another
# system (metres of a projection, or latitude and longitude swapped).
_OFFSET_BOX = (72.004, 0.8293, 137.8347, 55.8271)
CHINA_BOX = (73.0, 3.0, 136.0, 54.0)


def in_china(lng, lat, box=CHINA_BOX):
    west, south, east, north = box
    return (lng >= west) & (lng <= east) & (lat >= south) & (lat <= north)


def _offset(lng, lat):
    """GCJ-02 minus WGS-84 at (lng, lat), in degrees."""
    x, y = lng - 105.0, lat - 35.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
             + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
             + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
             + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    d_lng = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
             + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
             + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
             + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad_lat) ** 2
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * np.sqrt(magic)) * np.pi)
    d_lng = (d_lng * 180.0) / (_A / np.sqrt(magic) * np.cos(rad_lat) * np.pi)
    inside = in_china(lng, lat, _OFFSET_BOX)
    return np.where(inside, d_lng, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lng, lat):
    lng, lat = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    d_lng, d_lat = _offset(lng, lat)
    return lng + d_lng, lat + d_lat


def gcj02_to_bd09(lng, lat):
    lng, lat = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(lng * lng + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lng) + 0.000003 * np.cos(lng * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lng, lat):
    x, y = lng - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lng, lat, start):
    """Solve forward(x) = (lng, lat) for x by fixed-point iteration from `start`:
    both offsets change by far less than a metre over their own size, so each
    round shrinks the error a thousandfold."""
    guess_lng, guess_lat = start
    for _ in range(MAX_ROUNDS):
        got_lng, got_lat = forward(guess_lng, guess_lat)
        err_lng, err_lat = got_lng - lng, got_lat - lat
        guess_lng, guess_lat = guess_lng - err_lng, guess_lat - err_lat
        if np.all(np.abs(err_lng) < TOLERANCE) and np.all(np.abs(err_lat) < TOLERANCE):
            break
    return guess_lng, guess_lat


def gcj02_to_wgs84(lng, lat):
    lng, lat = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    return _invert(wgs84_to_gcj02, lng, lat, (lng, lat))


def bd09_to_gcj02(lng, lat):
    lng, lat = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    return _invert(gcj02_to_bd09, lng, lat, _bd09_to_gcj02_approx(lng, lat))


def bd09_to_wgs84(lng, lat):
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


_TO_WGS84 = {WGS84: None, CGCS2000: None, GCJ02: gcj02_to_wgs84, BD09: bd09_to_wgs84}


def to_wgs84(geometry, crs):
    """`geometry` (a shapely geometry in `crs`) in WGS-84."""
    convert = _TO_WGS84[crs]
    if convert is None:
        return geometry

    def transform(coords):
        lng, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack([lng, lat])

    return shapely.transform(geometry, transform)


def distance_m(lng1, lat1, lng2, lat2):
    """Great-circle distance in metres (haversine on the mean Earth radius)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lng2 - lng1) / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(a))


def metres_between(lat1, lng1, lat2, lng2):
    """The same for one pair of points, latitude first, as a float."""
    return float(distance_m(lng1, lat1, lng2, lat2))
