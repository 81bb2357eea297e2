// The admin's grid maps: an import's preview (each grid coloured by what the import
// does to it, and each finding's area) and a grid's own outline. The features come
// in a <script type="application/json"> the container names; no tiles are needed
// (intranets often have none), the outlines alone show where things are.
const COLOURS = {
  create: "#1a7f37", update: "#0b5cad", unchanged: "#8c959f", retire: "#6e7781", invalid: "#cf222e",
  overlap: "#cf222e", gap: "#bf8700", outside_parent: "#8250df", repaired: "#bf8700",
};
const FINDINGS = new Set(["overlap", "gap", "outside_parent"]);

function style(feature) {
  const action = feature.properties.action || "unchanged";
  const colour = COLOURS[action] || COLOURS.unchanged;
  const finding = FINDINGS.has(action);
  return {
    color: colour, weight: finding ? 2 : 1, fillColor: colour,
    fillOpacity: finding ? 0.55 : action === "unchanged" || action === "retire" ? 0.08 : 0.25,
    dashArray: action === "retire" ? "4 4" : null,
  };
}

function draw(box) {
  const data = JSON.parse(document.getElementById(box.dataset.features).textContent);
  const view = L.map(box, { zoomSnap: 0.25, attributionControl: Boolean(box.dataset.tiles) });
  if (box.dataset.tiles) L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution || "", maxZoom: 19 }).addTo(view);
  // Grids first, findings on top, so an overlap is never hidden under a grid.
  const order = (f) => (FINDINGS.has(f.properties.action) ? 1 : 0);
  data.features.sort((a, b) => order(a) - order(b));
  const layer = L.geoJSON(data, {
    style,
    onEachFeature: (feature, shape) => {
      const p = feature.properties;
      shape.bindTooltip(`${p.code}${p.name && p.name !== p.code ? ` · ${p.name}` : ""}`, { sticky: true });
    },
  }).addTo(view);
  const bounds = layer.getBounds();
  if (bounds.isValid()) view.fitBounds(bounds, { padding: [12, 12] });
  else view.setView([36.58, 116.25], 12);
}

function start() {
  if (!window.L) return; // Leaflet did not load: the tables still say everything
  document.querySelectorAll("[data-features]").forEach(draw);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
