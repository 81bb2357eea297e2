// Is this the right place? The questions the server asks too (civic/intake/place_checks.py),
// asked on the phone before a report goes into the outbox, so the reporter can fix
// the place while still standing there. A question is never a refusal: the reporter
// may send it as it is, and the server marks the case for the dispatcher.
const EARTH_RADIUS_M = 6371008.8;
const DAY_MS = 86400000;

export function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const p1 = a.lat * rad, p2 = b.lat * rad;
  const s = Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(((b.lng - a.lng) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

// How far a point lies outside a box [west, south, east, north] (0 inside), in metres.
function metresOutsideBox(point, [west, south, east, north]) {
  const lat = Math.min(Math.max(point.lat, south), north);
  const lng = Math.min(Math.max(point.lng, west), east);
  return metresBetween(point, { lat, lng });
}

// `where` is the place the report goes with ({lat, lng, location_source}); `photos` the
// prepared photos ({position, capturedAt}); `device` the phone's fix; `settings` the
// client config's place_checks. → the questions' codes, in the server's order.
export function placeQuestions({ where, photos, device, settings, now = Date.now() }) {
  if (!settings) return [];
  const found = [];
  if (where?.lat != null && settings.county_bbox
      && metresOutsideBox(where, settings.county_bbox) > settings.outside_county_metres) found.push("outside_county");
  const taken = photos[0]?.capturedAt;
  if (taken && now - taken > settings.old_photo_days * DAY_MS) found.push("old_photo");
  const located = photos.find((p) => p.position);
  if (device && located && where?.location_source === "device"
      && metresBetween(device, located.position) > settings.photo_far_metres) found.push("photo_far_from_device");
  return found;
}

export const QUESTIONS = {
  outside_county: "The place is outside the county. Is that right?",
  old_photo: "The photo was taken days ago. Does it show the problem as it is now?",
  photo_far_from_device: "The photo was taken far from where you are. Is it of this place?",
};
