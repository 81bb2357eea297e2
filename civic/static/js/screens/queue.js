// The outbox screen: every item on this phone with its state, storage use,
// and "Sync now". Rejected items say why; the worker fixes, retries or
// discards them — nothing disappears on its own.
import { blobUrl, h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { actionLabel, bytes, errorText, formatTime } from "../labels.js";
import * as outbox from "../outbox.js";
import { setValue } from "../idb.js";

const STATE = { pending: "Waiting", sending: "Sending…", sent: "Sent", rejected: "Returned" };

function stateLine(record, user) {
  if (record.status !== "sent" && user && record.user_id !== user.id) return t("Waiting for the person who made it to log in again");
  if (record.status === "sent") return t("Sent {time} as {ref}", { time: formatTime(record.sent_at), ref: record.server?.ref || "" });
  if (record.status === "rejected") return errorText(record.last_error);
  if (record.attempts && record.next_attempt_at > Date.now()) {
    return t("Tried {n} times; next try {time}", { n: record.attempts, time: formatTime(record.next_attempt_at) });
  }
  return t("Saved {time}", { time: formatTime(record.created_at) });
}

async function fixReport(app, record) {
  // Back to the capture screen with everything the worker entered.
  await setValue("draft", {
    photos: record.photos.map((p, i) => ({ ...p, thumb: i === 0 ? record.thumb : null, position: null })),
    category: record.meta.category, note: record.meta.description || "", fix: record.client_id,
    device: record.meta.location_source === "device" ? { lat: record.meta.lat, lng: record.meta.lng, accuracy: record.meta.accuracy_m || 0 } : null,
    pin: ["manual", "exif"].includes(record.meta.location_source) && record.meta.lat != null ? { lat: record.meta.lat, lng: record.meta.lng } : null,
    address: record.meta.address || "",
    poster: record.meta.poster ? { code: record.meta.poster } : null,
  });
  app.navigate("#/capture");
}

function itemView(app, record, redraw) {
  const title = record.kind === "action" ? `${actionLabel(record.meta.action)} · ${record.label}` : record.label;
  const buttons = [];
  if (record.status === "rejected") {
    if (record.kind === "report") buttons.push(h("button.button.small", { type: "button", onclick: () => fixReport(app, record) }, t("Fix")));
    buttons.push(h("button.button.small", { type: "button", onclick: async () => { await outbox.retry(record.client_id); app.sync({ force: true, quiet: false }); } }, t("Retry")));
  }
  if (record.status === "rejected" || record.status === "pending") {
    buttons.push(h("button.button.small.danger", {
      type: "button",
      onclick: async () => {
        if (!confirm(t("Discard this item for good? It has not reached the server."))) return;
        await outbox.discard(record.client_id);
        redraw();
      },
    }, t("Discard")));
  }
  return h("li.outbox-item", { dataset: { status: record.status, clientId: record.client_id } },
    record.thumb ? h("img.thumb", { src: blobUrl(record.thumb), alt: "", width: 56, height: 56 }) : h("span.thumb.placeholder", { "aria-hidden": "true" }),
    h("div.row-main", {},
      h("strong", {}, title),
      h(`span.state.state-${record.status}`, {}, t(STATE[record.status] || record.status)),
      h("span.muted", {}, stateLine(record, app.user)),
      buttons.length ? h("div.item-actions", {}, buttons) : null,
    ),
  );
}

async function storageLine() {
  const storage = navigator.storage;
  if (!storage?.estimate) return t("Storage: unknown");
  const [{ usage, quota }, persisted] = await Promise.all([storage.estimate(), storage.persisted?.() ?? false]);
  return t("Storage: {used} of {quota} used", { used: bytes(usage), quota: bytes(quota) }) + " · "
    + (persisted ? t("kept safe by the browser") : t("may be cleared by the browser when space runs out"));
}

export async function render(root, app) {
  const list = h("ul.outbox-list", { "aria-live": "polite" });
  const storage = h("p.muted.storage");
  const syncButton = h("button.button.primary", {
    type: "button",
    onclick: async () => {
      syncButton.disabled = true;
      await app.sync({ force: true, quiet: false });
      syncButton.disabled = false;
    },
  }, t("Sync now"));

  async function redraw() {
    const records = await outbox.list();
    list.replaceChildren(...records.map((r) => itemView(app, r, redraw)));
    if (!records.length) list.append(h("li.empty", {}, t("Nothing waiting. Everything you report shows here until the server has it.")));
    storage.textContent = await storageLine();
  }

  root.append(h("div.title-row", {}, h("h1", {}, t("Outbox")), syncButton), storage, list);
  await redraw();
  if (navigator.storage?.persisted && !(await navigator.storage.persisted())) {
    root.append(h("button.link", {
      type: "button",
      onclick: async () => toast((await navigator.storage.persist()) ? t("Storage is kept safe now.") : t("The browser did not agree; install the app to the home screen.")),
    }, t("Keep my data safe on this phone")));
  }
  const off = outbox.onChange(() => redraw());
  return off;
}
