// The map: my grid's boundary, my tasks and my reports, on self-hosted
// Leaflet. The base layer is the county's tile pack (kept on the phone by
// js/tiles.js), else an online tile server (CIVIC_MAP_TILE_URL, in its own
// coordinate system CIVIC_MAP_TILE_CRS: everything is converted at the map's
// edge, js/crs.js); with neither, or offline, the grid outline and the points are the map.
import { converters } from "../crs.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { categoryName, statusLabel } from "../labels.js";
import * as outbox from "../outbox.js";

const COUNTY_CENTRE = [36.58, 116.25]; // until my grid is known
let loading = null;
function leaflet() {
  // Loaded on first use: most screens never need it.
  loading ??= new Promise((resolve, reject) => {
    if (window.L) return resolve(window.L);
    const script = document.createElement("script");
    script.src = "/static/vendor/leaflet/leaflet.js";
    script.onload = () => resolve(window.L);
    script.onerror = () => { loading = null; reject(new Error("map library unavailable")); };
    document.head.append(script);
  });
  return loading;
}

async function baseMap(el, app) {
  const L = await leaflet();
  const map = L.map(el, { zoomControl: true, attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  map.setView(COUNTY_CENTRE, 14); // layers need a view before they are added; fitted below

  const config = await app.read("/api/v1/client-config").then((r) => r.data).catch(() => null);
  const pack = config?.map?.pack; // the county's own tiles, kept on the phone (js/tiles.js)
  // WGS-84 in the app; the map's own system on screen (a GCJ-02 or BD-09 tile server).
  const { toMap, fromMap } = converters(pack ? "wgs84" : config?.map?.crs);
  const onMap = (lat, lng) => { const [x, y] = toMap([lng, lat]); return L.latLng(y, x); };
  const fromScreen = (latlng) => { const [lng, lat] = fromMap([latlng.lng, latlng.lat]); return { lat, lng }; };
  if (pack) {
    const [west, south, east, north] = pack.bounds;
    L.tileLayer(pack.tiles[0], { attribution: pack.attribution || "", minZoom: 0, maxNativeZoom: pack.maxzoom,
      maxZoom: 19, bounds: [[south, west], [north, east]], className: "base-tiles" }).addTo(map);
  } else if (config?.map?.tile_url) {
    L.tileLayer(config.map.tile_url, { attribution: config.map.attribution || "", maxZoom: 19 }).addTo(map);
  }
  let grids = null;
  try {
    grids = (await app.read("/api/v1/me/grids")).data;
  } catch { /* no copy yet */ }
  const outline = grids?.features?.length
    ? L.geoJSON(grids, {
      coordsToLatLng: (c) => onMap(c[1], c[0]),
      style: (f) => ({ color: "#0b6e4f", weight: f.properties.level === 1 ? 1 : 3, fillOpacity: f.properties.level === 1 ? 0 : 0.08 }),
    }).addTo(map)
    : null;
  return { L, map, outline, onMap, fromScreen };
}

const dot = (L, latlng, cls, label) => L.circleMarker(latlng, { radius: 9, className: cls, weight: 2 }).bindPopup(label);

// The map of where a report will be: a draggable pin (what the reporter moves it to
// comes back through onMove, in WGS-84), and moveTo(place, accuracy) to put it
// where the report's place now is (the phone's fix with its accuracy circle, the
// photo's GPS, a poster's place), the map following it.
export async function pinPicker(el, app, start, onMove) {
  const { L, map, outline, onMap, fromScreen } = await baseMap(el, app);
  const centre = start ? onMap(start.lat, start.lng) : (outline ? outline.getBounds().getCenter() : map.getCenter());
  if (start) map.setView(centre, 17);
  else if (outline) map.fitBounds(outline.getBounds(), { padding: [10, 10] });
  else map.setView(centre, 16);
  const pin = L.marker(centre, {
    draggable: true, keyboard: true, title: t("Drag to where the problem is"),
    icon: L.divIcon({ className: "pin-icon", iconSize: [28, 28], iconAnchor: [14, 28] }),
  }).addTo(map);
  let circle = null;
  pin.on("dragend", () => { circle?.remove(); circle = null; onMove(fromScreen(pin.getLatLng())); });
  map.on("click", (event) => { pin.setLatLng(event.latlng); circle?.remove(); circle = null; onMove(fromScreen(event.latlng)); });
  return {
    map,
    moveTo(place, accuracy) {
      const at = onMap(place.lat, place.lng);
      pin.setLatLng(at);
      circle?.remove();
      circle = accuracy ? L.circle(at, { radius: accuracy, className: "accuracy-circle", weight: 1, interactive: false }).addTo(map) : null;
      map.setView(at, Math.max(map.getZoom(), 16));
    },
  };
}

export async function render(root, app) {
  const el = h("div.full-map", { role: "region", "aria-label": t("Map of my grid") });
  const legend = h("p.legend", {},
    h("span.key.key-task", {}, t("My tasks")), h("span.key.key-report", {}, t("My reports")), h("span.key.key-waiting", {}, t("Waiting to send")));
  root.append(h("h1.visually-hidden", {}, t("Map")), el, legend);
  let built;
  try {
    built = await baseMap(el, app);
  } catch {
    el.replaceWith(h("p.empty", {}, t("The map is not available offline yet.")));
    return;
  }
  const { L, map, outline, onMap } = built;
  const points = [];
  const add = (lat, lng, cls, label) => {
    if (lat == null || lng == null) return;
    const at = onMap(lat, lng);
    dot(L, at, cls, label).addTo(map);
    points.push(at);
  };
  const [tasks, reports, queued] = await Promise.all([
    app.read("/api/v1/tasks").then((r) => r.data.tasks).catch(() => []),
    app.read("/api/v1/reports?limit=100").then((r) => r.data.reports).catch(() => []),
    outbox.list(),
  ]);
  for (const c of reports) add(c.lat, c.lng, "report-dot", `${categoryName(c.category)} · ${statusLabel(c.status)}`);
  for (const c of tasks) add(c.lat, c.lng, "task-dot", `${categoryName(c.category)} · ${statusLabel(c.status)}`);
  for (const r of queued.filter((x) => x.kind === "report" && x.status !== "sent")) add(r.meta.lat, r.meta.lng, "waiting-dot", `${r.label} · ${t("Waiting to send")}`);
  if (outline) map.fitBounds(outline.getBounds(), { padding: [12, 12] });
  else if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 17 });
  return () => map.remove();
}
