// The map: my grid's boundary, my tasks and my reports, on self-hosted
// Leaflet. Tiles are optional (CIVIC_MAP_TILE_URL); with none, or offline,
// the grid outline and the points are the map.
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
  if (config?.map?.tile_url) L.tileLayer(config.map.tile_url, { attribution: config.map.attribution || "", maxZoom: 19 }).addTo(map);
  let grids = null;
  try {
    grids = (await app.read("/api/v1/me/grids")).data;
  } catch { /* no copy yet */ }
  const outline = grids?.features?.length
    ? L.geoJSON(grids, { style: (f) => ({ color: "#0b6e4f", weight: f.properties.level === 1 ? 1 : 3, fillOpacity: f.properties.level === 1 ? 0 : 0.08 }) }).addTo(map)
    : null;
  return { L, map, outline };
}

const dot = (L, latlng, cls, label) => L.circleMarker(latlng, { radius: 9, className: cls, weight: 2 }).bindPopup(label);

export async function pinPicker(el, app, start, onMove) {
  const { L, map, outline } = await baseMap(el, app);
  const centre = start || (outline ? outline.getBounds().getCenter() : map.getCenter());
  if (outline) map.fitBounds(outline.getBounds(), { padding: [10, 10] });
  else map.setView(centre, 16);
  const pin = L.marker(centre, {
    draggable: true, keyboard: true, title: t("Drag to where the problem is"),
    icon: L.divIcon({ className: "pin-icon", iconSize: [28, 28], iconAnchor: [14, 28] }),
  }).addTo(map);
  pin.on("dragend", () => { const p = pin.getLatLng(); onMove({ lat: p.lat, lng: p.lng }); });
  map.on("click", (event) => { pin.setLatLng(event.latlng); onMove({ lat: event.latlng.lat, lng: event.latlng.lng }); });
  return map;
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
  const { L, map, outline } = built;
  const points = [];
  const add = (lat, lng, cls, label) => {
    if (lat == null || lng == null) return;
    dot(L, [lat, lng], cls, label).addTo(map);
    points.push([lat, lng]);
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
