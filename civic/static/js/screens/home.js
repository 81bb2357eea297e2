// Home: the big Report button, my tasks, what waits to be sent, my reports.
import { api } from "../api.js";
import { blobUrl, h } from "../dom.js";
import { t } from "../i18n.js";
import { categoryName, formatTime, statusLabel } from "../labels.js";
import * as outbox from "../outbox.js";
import { forgetLogin } from "../session.js";

async function logOut(app) {
  const { pending } = await outbox.summary();
  const question = pending
    ? t("{n} items are not sent yet. They stay on this phone and are sent when you log in again. Log out?", { n: pending })
    : t("Log out of this phone?");
  if (!confirm(question)) return;
  await api("/api/v1/auth/token", { method: "DELETE" }).catch(() => {}); // offline: the token lapses by itself
  await forgetLogin();
  navigator.serviceWorker?.controller?.postMessage({ type: "LOGGED_OUT" }); // drop the copies of my data
  app.user = null;
  app.navigate("#/login");
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
  const summaryRow = h("div.summary");
  const list = h("ul.rows", { "aria-live": "polite" });
  root.append(summaryRow, h("h2", {}, t("My reports")), list);

  const [counts, records] = await Promise.all([outbox.summary(), outbox.list()]);
  let taskCount = "…";
  summaryRow.append(
    h("a.tile", { href: "#/tasks" }, h("b", { id: "task-count" }, taskCount), t("My tasks")),
    h("a.tile", { href: "#/outbox" }, h("b", {}, String(counts.pending)), t("Waiting to send")),
  );
  if (counts.rejected) summaryRow.append(h("a.tile.warn", { href: "#/outbox" }, h("b", {}, String(counts.rejected)), t("Need attention")));
  app.read("/api/v1/tasks").then(({ data }) => {
    const el = document.getElementById("task-count");
    if (el) el.textContent = String(data.tasks.length);
  }).catch(() => { const el = document.getElementById("task-count"); if (el) el.textContent = "?"; });

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
  root.append(h("p.logout", {}, h("button.link", { type: "button", onclick: () => logOut(app) }, t("Log out"))));
}
