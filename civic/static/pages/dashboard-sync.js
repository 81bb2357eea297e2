// The sync dashboard's live updates (templates/dashboard/sync.html): a page
// script, not part of the field app's shell. The page works without it (the
// server renders the rows); here the rows and counts are fetched again from
// /dashboard/sync.json every few seconds and re-rendered, with no reload.
// Polling pauses while the tab is hidden (nobody is looking, and a supervisor's
// forgotten tab should not poll all night) and resumes at once when shown.
// Words come from the page (translated there), so both renderings match.
const table = document.getElementById("sync-table");
const labels = JSON.parse(document.getElementById("sync-labels")?.textContent || "{}");
const live = document.getElementById("sync-live");
const every = Number(table?.dataset.refresh || 15) * 1000;
let timer = null;

const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => values[key]);

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return labels.ago.now;
  if (seconds < 3600) return fill(labels.ago.m, { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return fill(labels.ago.h, { n: Math.floor(seconds / 3600) });
  return fill(labels.ago.d, { n: Math.floor(seconds / 86400) });
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const br = () => h("br");
const muted = (text) => h("span", { class: "muted" }, text);
const badge = (level, text) => h("span", { class: `level level-${level}` }, text);

function cells(r) {
  const where = r.grids.length ? r.grids.map((g) => g.name).join(", ") : r.department?.name || "";
  const reasons = r.level !== "never" && r.reasons.length ? [br(), muted(r.reasons.map((x) => labels.reasons[x]).join(", "))] : [];
  return [
    h("td", {}, h("strong", {}, r.name), br(), muted(`${r.username} · ${labels.roles[r.role] || r.role}`), br(), muted(where)),
    h("td", {}, badge(r.level, labels.levels[r.level]), reasons),
    h("td", {}, r.device || "—", r.app_version ? [br(), h("code", { class: "muted" }, r.app_version)] : [],
      r.outdated ? [" ", badge("behind", labels.outdated)] : []),
    h("td", { class: "num" }, ago(r.heartbeat_age_seconds)),
    h("td", { class: "num" }, ago(r.sync_age_seconds)),
    h("td", { class: "num" }, r.level === "never" ? "—" : h("span", { class: r.pending ? "pending some" : "pending" }, r.pending),
      r.oldest_pending_age_seconds != null ? [br(), muted(fill(labels.waiting, { age: ago(r.oldest_pending_age_seconds) }))] : [],
      r.rejected ? [br(), h("span", { class: "error-text" }, fill(labels.rejected, { n: r.rejected }))] : [],
      r.sync_failures ? [br(), h("span", { class: "error-text sync-failures" }, fill(labels.failures, { n: r.sync_failures })),
        br(), muted(fill(labels.last_failure, { age: ago(r.last_failure_age_seconds) }) + (r.last_failure ? ` · ${r.last_failure}` : ""))] : []),
    h("td", { class: "num" }, r.storage_percent != null ? `${r.storage_percent}%` : "—",
      r.persisted != null ? [br(), muted(r.persisted ? labels.persisted : labels.not_persisted)] : []),
    h("td", {}, r.push_active ? h("span", { class: "status status-handled" }, labels.push_on) : h("span", { class: "status" }, labels.push_off)),
  ];
}

function render(data) {
  const body = table.tBodies[0];
  const rows = data.rows.map((r) => h("tr", { class: `sync-row level-${r.level}`, "data-user": r.username,
                                              "data-device": r.device_id || "" }, cells(r)));
  if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "8", class: "empty" }, labels.empty)));
  body.replaceChildren(...rows);
  for (const node of document.querySelectorAll("[data-count]")) {
    node.textContent = data.summary[node.dataset.count];
  }
  live.textContent = fill(labels.updated, { time: new Date().toLocaleTimeString() });
  live.classList.remove("error-text");
}

async function refresh() {
  try {
    const response = await fetch(table.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    render(await response.json());
  } catch {
    live.textContent = labels.failed;
    live.classList.add("error-text");
  }
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (document.hidden) {
    live.textContent = labels.paused;
    return;
  }
  timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, every);
}

if (table) {
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();  // catch up at once on return
    schedule();
  });
  schedule();
}
