// WGS-84 ↔ GCJ-02 (AMap, Tencent) ↔ BD-09 (Baidu), for drawing on a tile server
// in another coordinate system: the app stores and sends WGS-84 only and converts
// at the map's edge, both ways (a point or a grid drawn, a dragged pin read back).
// The same published formulas as the server's civic/grids/crs.py, with the same
// exact inverse (fixed-point iteration to below a millimetre); tests/e2e checks
// the two agree.
const A = 6378245.0;                 // Krasovsky 1940 semi-major axis, as the formula uses it
const EE = 0.00669342162296594323;   // its first eccentricity squared
const X_PI = (Math.PI * 3000.0) / 180.0;
const TOLERANCE = 1e-10;             // degrees (about 0.01 mm)
const OFFSET_BOX = [72.004, 0.8293, 137.8347, 55.8271]; // where the offset applies (the formula's own test)

function inOffsetBox(lng, lat) {
  const [west, south, east, north] = OFFSET_BOX;
  return lng >= west && lng <= east && lat >= south && lat <= north;
}

function offset(lng, lat) {
  if (!inOffsetBox(lng, lat)) return [0, 0];
  const x = lng - 105.0, y = lat - 35.0, PI = Math.PI;
  let dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
    + ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0
    + ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0
    + ((160.0 * Math.sin((y / 12.0) * PI) + 320.0 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
  let dLng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
    + ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0
    + ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0
    + ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
  const radLat = (lat / 180.0) * PI;
  const magic = 1 - EE * Math.sin(radLat) ** 2;
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * Math.sqrt(magic))) * PI);
  dLng = (dLng * 180.0) / ((A / Math.sqrt(magic)) * Math.cos(radLat) * PI);
  return [dLng, dLat];
}

export function wgs84ToGcj02([lng, lat]) {
  const [dLng, dLat] = offset(lng, lat);
  return [lng + dLng, lat + dLat];
}

export function gcj02ToBd09([lng, lat]) {
  const z = Math.sqrt(lng * lng + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
  const theta = Math.atan2(lat, lng) + 0.000003 * Math.cos(lng * X_PI);
  return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
}

function bd09ToGcj02Approx([lng, lat]) {
  const x = lng - 0.0065, y = lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
  const theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
  return [z * Math.cos(theta), z * Math.sin(theta)];
}

// Solve forward(p) = target by fixed-point iteration from `start`.
function invert(forward, target, start) {
  let [lng, lat] = start;
  for (let round = 0; round < 30; round += 1) {
    const [gotLng, gotLat] = forward([lng, lat]);
    const errLng = gotLng - target[0], errLat = gotLat - target[1];
    lng -= errLng;
    lat -= errLat;
    if (Math.abs(errLng) < TOLERANCE && Math.abs(errLat) < TOLERANCE) break;
  }
  return [lng, lat];
}

export const gcj02ToWgs84 = (point) => invert(wgs84ToGcj02, point, point);
export const bd09ToGcj02 = (point) => invert(gcj02ToBd09, point, bd09ToGcj02Approx(point));
export const wgs84ToBd09 = (point) => gcj02ToBd09(wgs84ToGcj02(point));
export const bd09ToWgs84 = (point) => gcj02ToWgs84(bd09ToGcj02(point));

// The map's own system ("wgs84", "gcj02", "bd09") ↔ WGS-84, as [lng, lat] functions.
export function converters(crs) {
  if (crs === "gcj02") return { toMap: wgs84ToGcj02, fromMap: gcj02ToWgs84 };
  if (crs === "bd09") return { toMap: wgs84ToBd09, fromMap: bd09ToWgs84 };
  return { toMap: (p) => p, fromMap: (p) => p };
}
