// Home: the big Report button, my tasks, what waits to be sent, my reports.
import { api } from "../api.js";
import { blobUrl, h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { categoryName, formatTime, statusLabel } from "../labels.js";
import * as outbox from "../outbox.js";
import { enablePush, pushState } from "../push.js";
import { tileStatus } from "../tiles.js";

async function logOut(app) {
  const { pending } = await outbox.summary();
  const question = pending
    ? t("{n} items are not sent yet. They stay on this phone and are sent when you log in again. Log out?", { n: pending })
    : t("Log out of this phone?");
  if (confirm(question)) await app.logOut();
}

// Quiet nights: alerts wait until morning, except for urgent categories.
async function alertSettings() {
  let prefs;
  try {
    prefs = (await api("/api/v1/me/notifications")).data;
  } catch {
    return null; // offline: settings can wait
  }
  const box = h("input", { type: "checkbox", checked: prefs.mute_at_night || null });
  box.addEventListener("change", async () => {
    try {
      await api("/api/v1/me/notifications", { method: "PUT", json: { mute_at_night: box.checked } });
      toast(t("Saved."));
    } catch {
      box.checked = !box.checked;
      toast(t("Could not save; try again when online."));
    }
  });
  return h("details.settings", {}, h("summary", {}, t("Alert settings")),
    h("label.check", {}, box, t("Quiet at night ({night}); urgent cases still alert", { night: prefs.night })));
}

// Asked when it makes sense: on the home screen, explained, on the worker's tap.
async function pushCard() {
  const state = await pushState();
  if (state === "on" || state === "unsupported") return null;
  if (state === "denied") return h("p.muted.push-note", {}, t("Notifications are blocked in the browser; new tasks still show while the app is open."));
  const card = h("section.card.push-card", {},
    h("p", {}, t("Turn on task alerts: the phone rings when a task is assigned to you, even when the app is closed.")),
    h("button.button.primary", {
      type: "button",
      onclick: async () => {
        const result = await enablePush().catch(() => "error");
        if (result === "on") { card.remove(); toast(t("Task alerts are on.")); }
        else toast(result === "denied" ? t("Notifications are blocked in the browser; new tasks still show while the app is open.")
          : t("Task alerts could not be turned on; new tasks still show while the app is open."));
      },
    }, t("Turn on alerts")));
  return card;
}

export function reportRow({ href, thumb, title, status, statusClass, sub }) {
  return h("li", {},
    h(href ? "a.row" : "div.row", { href },
      thumb ? h("img.thumb", { src: thumb, alt: "", width: 56, height: 56 }) : h("span.thumb.placeholder", { "aria-hidden": "true" }),
      h("span.row-main", {}, h("strong", {}, title), h("span.muted", {}, sub)),
      h(`span.status.status-${statusClass}`, {}, status),
    ));
}

export async function render(root, app) {
  const grids = (app.user.grids || []).map((g) => g.name).join("、");
  root.append(
    h("p.greeting", {}, t("Hello, {name}", { name: app.user.display_name || app.user.username }), grids ? h("span.muted", {}, ` · ${grids}`) : null),
    h("a.report-button", { href: "#/capture" }, h("span.plus", { "aria-hidden": "true" }, "+"), t("Report a problem")),
  );
  const resident = app.user.role === "resident";
  const summaryRow = h("div.summary");
  if (!resident) pushCard().then((card) => { if (card && root.isConnected) summaryRow.after(card); });
  const list = h("ul.rows", { "aria-live": "polite" });
  root.append(summaryRow, h("h2", {}, t("My reports")), list);

  const [counts, records] = await Promise.all([outbox.summary(), outbox.list()]);
  // Staff see their tasks; residents their points (积分), earned by valid reports.
  const [counter, path, label] = resident ? ["points-count", "/api/v1/me/points", t("My points")]
    : ["task-count", "/api/v1/tasks", t("My tasks")];
  summaryRow.append(
    h("a.tile", { href: resident ? "#/points" : "#/tasks" }, h("b", { id: counter }, "…"), label),
    h("a.tile", { href: "#/outbox" }, h("b", {}, String(counts.pending)), t("Waiting to send")),
  );
  if (counts.rejected) summaryRow.append(h("a.tile.warn", { href: "#/outbox" }, h("b", {}, String(counts.rejected)), t("Need attention")));
  app.read(path).then(({ data }) => {
    const el = document.getElementById(counter);
    if (el) el.textContent = String(resident ? data.balance : data.tasks.length);
  }).catch(() => { const el = document.getElementById(counter); if (el) el.textContent = "?"; });

  const waiting = records.filter((r) => r.kind === "report" && r.status !== "sent");
  for (const record of waiting) {
    list.append(reportRow({
      href: "#/outbox", thumb: record.thumb && blobUrl(record.thumb), title: record.label,
      status: record.status === "rejected" ? t("Returned") : t("Waiting"), statusClass: record.status === "rejected" ? "rejected" : "waiting",
      sub: formatTime(record.created_at),
    }));
  }
  try {
    const { data, cached } = await app.read("/api/v1/reports?limit=30");
    for (const report of data.reports) {
      list.append(reportRow({
        href: `#/cases/${report.id}`, thumb: report.photos[0]?.thumb_url, title: categoryName(report.category),
        status: statusLabel(report.status), statusClass: report.status, sub: `${report.ref} · ${formatTime(report.created_at)}`,
      }));
    }
    if (cached) root.append(h("p.muted", {}, t("Offline: showing the last copy.")));
  } catch {
    root.append(h("p.muted", {}, t("Offline: your sent reports show when you are back online.")));
  }
  if (!list.children.length) list.append(h("li.empty", {}, t("No reports yet. Tap Report when you see a problem.")));
  const settings = resident ? null : await alertSettings();
  if (settings && root.isConnected) root.append(settings);
  const tiles = resident ? null : await tileStatus();
  if (tiles && root.isConnected) {
    // The base map kept for offline use: how much of it is on the phone.
    root.append(h("p.muted.offline-map", { dataset: { cached: tiles.cached, count: tiles.count } },
      tiles.cached >= tiles.count
        ? t("Offline map of my grids: {mb} MB", { mb: (tiles.bytes / 1048576).toFixed(1) })
        : t("Offline map of my grids: {done} of {count} tiles", { done: tiles.cached, count: tiles.count }),
      tiles.capped ? ` · ${t("the finest detail left out (storage cap)")}` : ""));
  }
  root.append(h("p.logout", {}, h("a.link", { href: "#/account" }, t("My account")), " · ",
    h("button.link", { type: "button", onclick: () => logOut(app) }, t("Log out"))));
}
