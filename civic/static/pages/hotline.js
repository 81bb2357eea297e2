// The hotline form's extras (templates/hotline/form.html): a page script, not
// part of the field app's shell. The form works without it (plain HTML with
// latitude and longitude inputs). Here: a map pin on self-hosted Leaflet kept
// in step with those inputs, the grid and department the pin would go to,
// focus on the first error, and one submission per click. Map strings come
// from the page (translated there).
const form = document.querySelector(".hotline-form");
const box = document.getElementById("pin-map");

function number(input, low, high) {
  const text = input.value.trim().replace(/°$/, "");
  if (!/^[+-]?\d{1,3}(\.\d+)?$/.test(text)) return null;
  const value = Number(text);
  return value >= low && value <= high ? value : null;
}

function focusFirstError() {
  const summary = document.getElementById("form-errors");
  if (summary) summary.focus();
}

function clearErrorsWhileTyping() {
  // A field's error goes once it is being corrected; the server checks again anyway.
  form.addEventListener("input", (event) => {
    const field = event.target;
    if (field.getAttribute("aria-invalid") !== "true") return;
    field.removeAttribute("aria-invalid");
    const note = document.getElementById(field.getAttribute("aria-describedby") || "");
    if (note?.classList.contains("field-error")) note.hidden = true;
  });
}

function oneSubmission() {
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", () => {
    // After the browser has taken the submission: disabling first would drop it.
    setTimeout(() => { button.disabled = true; }, 0);
  });
  // Back to this page from the history: the button works again.
  window.addEventListener("pageshow", () => { button.disabled = false; });
}

async function map() {
  const L = window.L;
  if (!box || !L) return; // no Leaflet: the inputs alone
  const { lat, lng, category } = form.elements;
  const where = document.getElementById("where");
  const clear = document.getElementById("clear-pin");
  box.hidden = false;
  const view = L.map(box, { zoomControl: true, attributionControl: true, zoomSnap: 0.25 });
  view.attributionControl.setPrefix("Leaflet");
  view.setView([36.58, 116.25], 14); // until the grids are loaded
  if (box.dataset.tiles) L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution || "", maxZoom: 19 }).addTo(view);

  let pin = null;
  let asked = 0;
  async function describe() {
    const p = pin && pin.getLatLng();
    if (!p) { where.textContent = ""; return; }
    const ask = ++asked;
    const query = new URLSearchParams({ lat: p.lat.toFixed(6), lng: p.lng.toFixed(6), category: category.value });
    try {
      const response = await fetch(`${box.dataset.locate}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok && ask === asked) where.textContent = (await response.json()).text;
    } catch { /* offline or gone: the hint is only a help */ }
  }
  function place(latlng, { pan = false, fill = false } = {}) {
    if (!pin) {
      pin = L.marker(latlng, {
        draggable: true, keyboard: true, title: box.dataset.pinTitle,
        icon: L.divIcon({ className: "pin-icon", iconSize: [28, 28], iconAnchor: [14, 28] }),
      }).addTo(view);
      pin.on("dragend", () => place(pin.getLatLng(), { fill: true }));
    } else {
      pin.setLatLng(latlng);
    }
    if (fill) {
      lat.value = latlng.lat.toFixed(6);
      lng.value = latlng.lng.toFixed(6);
    }
    if (pan) view.setView(latlng, Math.max(view.getZoom(), 16));
    clear.hidden = false;
    // "Where is it?" is answered now.
    const answered = document.getElementById("location-error");
    if (answered) answered.hidden = true;
    if (form.elements.address.getAttribute("aria-describedby") === "location-error") form.elements.address.removeAttribute("aria-invalid");
    describe();
  }
  function unplace() {
    if (pin) { pin.remove(); pin = null; }
    clear.hidden = true;
    describe();
  }

  view.on("click", (event) => place(event.latlng, { fill: true }));
  const typed = () => {
    const a = number(lat, -90, 90), b = number(lng, -180, 180);
    if (a !== null && b !== null) place(L.latLng(a, b), { pan: true });
    else if (!lat.value.trim() && !lng.value.trim()) unplace();
  };
  lat.addEventListener("change", typed);
  lng.addEventListener("change", typed);
  category.addEventListener("change", describe);
  clear.addEventListener("click", () => { lat.value = ""; lng.value = ""; unplace(); lat.focus(); });

  try {
    const response = await fetch(box.dataset.grids, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const grids = await response.json();
    const outline = L.geoJSON(grids, {
      interactive: false,
      style: (f) => ({ color: "#0b6e4f", weight: f.properties.level === 1 ? 2.5 : 1, fillOpacity: f.properties.level === 1 ? 0 : 0.05 }),
      onEachFeature: (f, layer) => {
        if (f.properties.level === 2) layer.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "grid-name" });
      },
    }).addTo(view);
    if (outline.getLayers().length) view.fitBounds(outline.getBounds(), { padding: [8, 8] });
    const names = () => box.classList.toggle("grid-names", view.getZoom() >= 15); // legible only up close
    view.on("zoomend", names);
    names();
  } catch { /* no outlines: the tiles (if any) and the pin still work */ }
  const a = number(lat, -90, 90), b = number(lng, -180, 180);
  if (a !== null && b !== null) place(L.latLng(a, b), { pan: true }); // the form came back with a point
}

if (form) {
  focusFirstError();
  clearErrorsWhileTyping();
  oneSubmission();
  map();
}
