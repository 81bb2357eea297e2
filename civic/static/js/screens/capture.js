// Capture a report: up to 3 photos, a category, an optional note, and where it
// is. Location, in order: the phone's position at capture time, else the first
// photo's EXIF GPS (read before the photo is shrunk), else a pin the worker
// drags, else a typed address. Everything typed or taken is kept as a draft in
// IndexedDB until it is safely in the outbox.
import { h, blobUrl, svgIcon, toast } from "../dom.js";
import { PositionWatch } from "../geo.js";
import { t } from "../i18n.js";
import { categoryName } from "../labels.js";
import * as outbox from "../outbox.js";
import { deleteValue, getValue, setValue } from "../idb.js";
import { preparePhoto } from "../photos.js";
import { pinPicker } from "./map.js";
import { loadPoster, placeText, posterCode } from "../poster.js";
import { placeQuestions, QUESTIONS } from "../place-checks.js";

const MAX_PHOTOS = 3;
const CLASS_ORDER = ["litter", "bin", "street", "flyer", "construction", "traffic", "utility", "tree", "building", "alert", "other"];

const emptyDraft = () => ({ photos: [], category: null, note: "", fix: null, device: null, pin: null, address: "", poster: null });

// The location the report goes with, and where it came from. A pin the reporter
// moved on the map is what they confirmed: it comes first.
export function chooseLocation(draft) {
  if (draft.pin) return { lat: draft.pin.lat, lng: draft.pin.lng, location_source: "manual" };
  if (draft.device) return { lat: draft.device.lat, lng: draft.device.lng, accuracy_m: Math.round(draft.device.accuracy), location_source: "device" };
  const exif = draft.photos.find((p) => p.position);
  if (exif) return { lat: exif.position.lat, lng: exif.position.lng, location_source: "exif" };
  // A scanned poster: the reporter stands at it. Its position is a place someone
  // chose (like a pin), not the phone's measurement, so it goes as "manual", and
  // only when the phone, the photo and a pin have nothing better.
  if (draft.poster?.lat != null) return { lat: draft.poster.lat, lng: draft.poster.lng, location_source: "manual" };
  if (draft.address.trim()) return { location_source: "manual" };
  return null;
}

async function loadCategories(app) {
  try {
    return (await app.read("/api/v1/categories")).data.categories;
  } catch {
    return [];
  }
}

export async function render(root, app, query = "") {
  const draft = (await getValue("draft")) || emptyDraft();
  const categories = await loadCategories(app);
  const checks = (await app.read("/api/v1/client-config").then((r) => r.data).catch(() => null))?.place_checks;
  const recent = (await getValue("recent_categories")) || [];
  let saving = false;
  let finished = false; // saved to the outbox or discarded: the draft must not come back

  // Opened from a QR poster (#/capture?poster=CODE): the place, kept with the draft.
  const scanned = posterCode(query);
  if (scanned && draft.poster?.code !== scanned) draft.poster = { code: scanned };
  const placeLine = h("p.place", { hidden: !draft.poster?.name }, draft.poster?.name ? placeText(draft.poster) : "");
  async function showPoster() {
    const found = await loadPoster(app, draft.poster.code);
    if (finished) return;
    if (found === null) toast(t("This QR code is not known; report as usual."));
    if (found === null || found.name || !draft.poster.name) draft.poster = found; // offline: keep the place already known
    placeLine.hidden = !draft.poster;
    if (draft.poster) placeLine.textContent = placeText(draft.poster);
    setValue("draft", draft).catch(() => {});
    showLocation();
  }

  const saveDraft = async () => {
    if (finished) return;
    app.setBusy(true);
    try { await setValue("draft", draft); } catch (error) {
      if (error?.name === "QuotaExceededError") toast(t("Phone storage is full: the draft stays on screen only."));
    }
  };

  // Where: the phone's position, refreshed while this screen is open.
  const locationLine = h("p.location", { role: "status" });
  // The map is always there: the pin shows where the report will be, and can be moved.
  const pinBox = h("div.pin-box");
  let placeMap = null;
  const watch = new PositionWatch(() => {
    if (watch.best && (!draft.device || watch.best.accuracy < draft.device.accuracy || !draft.photos.length)) {
      // Before the first photo, follow the phone; after it, keep the fix of capture time unless a better one arrives.
      draft.device = watch.best;
      saveDraft();
    }
    showLocation();
  }).start();

  function showLocation() {
    const where = chooseLocation(draft);
    locationLine.className = `location ${where ? "ok" : "missing"}`;
    if (where?.location_source === "device") locationLine.textContent = t("Location: ±{m} m (phone)", { m: where.accuracy_m });
    else if (where?.location_source === "exif") locationLine.textContent = t("Location: from the photo's GPS");
    else if (where && draft.pin) locationLine.textContent = t("Location: the pin you placed");
    else if (where?.lat != null) locationLine.textContent = t("Location: where the poster is");
    else if (where) locationLine.textContent = t("Location: the address you typed");
    else if (watch.error === "denied") locationLine.textContent = t("Location is off. Drag the pin to where it is.");
    else if (watch.error) locationLine.textContent = t("No GPS fix. Drag the pin to where it is.");
    else locationLine.textContent = t("Finding your location…");
    locationLine.dataset.source = where?.location_source || "";
    // The pin follows the report's place until the reporter moves it.
    if (placeMap && where?.lat != null && !draft.pin) {
      placeMap.moveTo(where, where.location_source === "device" ? where.accuracy_m : null);
    }
  }

  async function showMap() {
    const address = h("input", { name: "address", value: draft.address, maxlength: 500, placeholder: t("e.g. east gate of No. 3 Middle School") });
    address.addEventListener("input", () => { draft.address = address.value; saveDraft(); showLocation(); });
    const mapEl = h("div.pin-map", { "aria-label": t("Map: drag the pin") });
    pinBox.replaceChildren(mapEl, h("label", {}, t("Or type the address"), address));
    const where = chooseLocation(draft);
    try {
      placeMap = await pinPicker(mapEl, app, where?.lat != null ? where : null,
        (pos) => { draft.pin = pos; saveDraft(); showLocation(); });
    } catch {
      mapEl.replaceWith(h("p.muted", {}, t("The map is not available offline yet.")));
      return;
    }
    showLocation();
  }

  function openPin() {
    pinBox.scrollIntoView({ block: "center" });
  }

  // Photos.
  const photoList = h("ul.photo-list");
  const camera = h("input.visually-hidden", { type: "file", accept: "image/*", capture: "environment", id: "photo-camera", "data-testid": "camera" });
  const gallery = h("input.visually-hidden", { type: "file", accept: "image/*", id: "photo-gallery", multiple: true });
  const photoButtons = h("div.photo-buttons",
    {},
    h("label.button.primary.camera-button", { for: "photo-camera" }, t("Take photo")),
    h("label.button", { for: "photo-gallery" }, t("From gallery")),
  );
  async function addFiles(files) {
    for (const file of [...files].slice(0, MAX_PHOTOS - draft.photos.length)) {
      const placeholder = h("li.photo.loading", {}, t("Preparing…"));
      photoList.append(placeholder);
      try {
        const prepared = await preparePhoto(file);
        // When it was taken: the photo's own EXIF time, else now (a photo just taken).
        draft.photos.push({ ...prepared, capturedAt: prepared.capturedAt || Date.now() });
        if (draft.photos.length === 1 && watch.best) draft.device = watch.best;
      } catch {
        toast(t("This file is not a photo we can use."));
      }
    }
    await saveDraft();
    showPhotos();
    showLocation();
  }
  camera.addEventListener("change", () => { addFiles(camera.files); camera.value = ""; });
  gallery.addEventListener("change", () => { addFiles(gallery.files); gallery.value = ""; });

  function showPhotos() {
    photoList.replaceChildren(...draft.photos.map((photo, index) => h("li.photo", {},
      photo.thumb ? h("img", { src: blobUrl(photo.thumb), alt: t("Photo {n}", { n: index + 1 }) }) : h("span.thumb.placeholder", {}, "HEIC"),
      h("button.remove", {
        type: "button", "aria-label": t("Remove photo {n}", { n: index + 1 }),
        onclick: () => { draft.photos.splice(index, 1); saveDraft(); showPhotos(); showLocation(); },
      }, "×"),
    )));
    photoButtons.hidden = draft.photos.length >= MAX_PHOTOS;
  }

  // Category: recent ones first, then by class; a search box over all.
  const chosen = h("p.chosen");
  const search = h("input", { type: "search", placeholder: t("Search categories"), "aria-label": t("Search categories") });
  const picker = h("div.category-picker");
  const byCode = new Map(categories.map((c) => [c.code, c]));
  const chip = (c) => h("button.chip", {
    type: "button", "aria-pressed": String(draft.category === c.code), dataset: { code: c.code },
    onclick: () => { draft.category = c.code; saveDraft(); showCategories(); },
  }, svgIcon(c.icon || "other"), categoryName(c));

  function showCategories() {
    const current = byCode.get(draft.category);
    chosen.replaceChildren(current ? h("span", {}, svgIcon(current.icon), " ", categoryName(current)) : h("span.muted", {}, t("Choose what it is")));
    const query = search.value.trim().toLowerCase();
    if (query) {
      const hits = categories.filter((c) => `${c.name} ${c.name_en} ${c.code}`.toLowerCase().includes(query));
      // replaceChildren writes a null as the text "null": only the nodes there are.
      picker.replaceChildren(h("div.chips", {}, hits.map(chip)), ...(hits.length ? [] : [h("p.muted", {}, t("No category matches."))]));
      return;
    }
    const sections = [];
    const recentOnes = recent.map((code) => byCode.get(code)).filter(Boolean);
    if (recentOnes.length) sections.push(h("h3", {}, t("Recent")), h("div.chips", {}, recentOnes.map(chip)));
    for (const icon of CLASS_ORDER) {
      const group = categories.filter((c) => (c.icon || "other") === icon);
      if (!group.length) continue;
      const open = group.some((c) => c.code === draft.category);
      sections.push(h("details.class", { open }, h("summary", {}, svgIcon(icon), group[0].class_name || icon,
        h("span.kind", {}, group[0].kind === "component" ? t("(component)") : t("(event)"))), h("div.chips", {}, group.map(chip))));
    }
    if (!categories.length) sections.push(h("p.muted", {}, t("Categories load the first time you are online.")));
    picker.replaceChildren(...sections);
  }
  search.addEventListener("input", showCategories);

  const note = h("textarea", { name: "note", rows: 3, maxlength: 2000, placeholder: t("Optional: what and where exactly") });
  note.value = draft.note;
  note.addEventListener("input", () => { draft.note = note.value; saveDraft(); });

  const errorBox = h("p.flash.flash-error", { role: "alert", hidden: true });
  // "Is this right?": the place checks' questions, answered before the report is saved.
  const questionBox = h("section.place-questions.flash.flash-warning", { role: "alert", hidden: true });
  let confirmed = null; // the questions the reporter said yes to, for the place as it was then
  function ask(questions, key) {
    questionBox.replaceChildren(
      h("strong", {}, t("Is this right?")),
      h("ul", {}, questions.map((q) => h("li", { dataset: { question: q } }, t(QUESTIONS[q])))),
      h("div.actions", {},
        h("button.button.primary", { type: "button", dataset: { answer: "yes" }, onclick: () => {
          confirmed = key;
          questionBox.hidden = true;
          submit.click();
        } }, t("Yes, send it")),
        h("button.button", { type: "button", dataset: { answer: "fix" }, onclick: () => {
          questionBox.hidden = true;
          openPin();
        } }, t("Move the pin"))));
    questionBox.hidden = false;
    questionBox.scrollIntoView({ block: "center" });
  }
  const submit = h("button.button.primary.big", { type: "submit" }, t("Save and send"));

  async function onSubmit(event) {
    event.preventDefault();
    if (saving) return;
    const where = chooseLocation(draft);
    const problem = !draft.photos.length ? t("Take at least one photo.")
      : !draft.category ? t("Choose a category.")
      : !where ? t("Where is it? Drag the pin or type an address.") : null;
    if (problem) {
      errorBox.textContent = problem;
      errorBox.hidden = false;
      errorBox.scrollIntoView({ block: "center" });
      if (!where) openPin();
      return;
    }
    const questions = placeQuestions({ where, photos: draft.photos, device: draft.device, settings: checks });
    const key = JSON.stringify([where.lat, where.lng, questions]);
    if (questions.length && confirmed !== key) {
      ask(questions, key);
      return;
    }
    saving = true;
    submit.disabled = true;
    const category = byCode.get(draft.category);
    const located = draft.photos.find((p) => p.position);
    const { location_source: source, ...coordinates } = where;
    const meta = {
      category: draft.category, description: draft.note.trim(), address: draft.address.trim() || null,
      captured_at: new Date(draft.photos[0].capturedAt || Date.now()).toISOString(), ...coordinates,
      ...(coordinates.lat != null ? { location_source: source } : {}),
      poster: draft.poster?.code || null, // null too: a fixed report must not keep a poster it dropped
      // The photo's own GPS, which shrinking drops: the server compares it with the phone's position.
      ...(located ? { photo_lat: located.position.lat, photo_lng: located.position.lng } : {}),
    };
    const photos = draft.photos.map((p) => ({ blob: p.blob, name: p.name }));
    try {
      const fields = { kind: "report", url: "/api/v1/reports", meta, photos, thumb: draft.photos[0].thumb, label: categoryName(category) || draft.category };
      if (draft.fix) await outbox.replace(draft.fix, fields);
      else await outbox.enqueue(fields);
    } catch (error) {
      saving = false;
      submit.disabled = false;
      errorBox.hidden = false;
      errorBox.textContent = error?.name === "QuotaExceededError"
        ? t("Phone storage is full, so the report could not be saved. Free some space (old photos, apps) and tap Save again; nothing on this screen is lost.")
        : t("Could not save: {message}", { message: error?.message || error });
      errorBox.scrollIntoView({ block: "center" });
      return;
    }
    finished = true;
    watch.stop();
    await setValue("recent_categories", [draft.category, ...recent.filter((c) => c !== draft.category)].slice(0, 6));
    await deleteValue("draft");
    app.setBusy(false);
    navigator.storage?.persist?.().catch(() => {});
    app.requestBackgroundSync();
    toast(t("Saved. It will be sent when there is a connection."));
    app.navigate("#/");
    app.sync();
  }

  root.append(
    h("h1", {}, draft.fix ? t("Fix the report") : t("Report a problem")),
    h("form.stack.capture", { onsubmit: onSubmit, novalidate: true },
      placeLine,
      h("section.step", {}, h("h2", {}, t("Photos")), photoList, photoButtons, camera, gallery),
      h("section.step", {}, h("h2", {}, t("What is it?")), chosen, search, picker),
      h("section.step", {}, h("h2", {}, t("Where?")), locationLine, pinBox),
      h("label", {}, t("Note"), note),
      errorBox,
      questionBox,
      h("div.actions", {},
        submit,
        h("button.button", {
          type: "button",
          onclick: async () => {
            if ((draft.photos.length || draft.note) && !confirm(t("Discard this report?"))) return;
            finished = true;
            watch.stop();
            await deleteValue("draft");
            app.setBusy(false);
            app.navigate("#/");
          },
        }, t("Cancel")),
      ),
    ),
  );
  if (draft.photos.length || draft.note || draft.category) app.setBusy(true);
  showPhotos();
  showCategories();
  showLocation();
  showMap();
  if (draft.poster) showPoster();
  return () => {
    watch.stop();
    // The draft is in IndexedDB: an update may reload the app once the worker leaves this screen.
    app.setBusy(false);
  };
}
