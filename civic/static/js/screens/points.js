// My points (积分): the balance, how points are earned, the rewards to exchange
// them for, my redemption codes, the ledger with the reason for every line, and
// the (opt-in, masked) leaderboard. Read through the service worker, so the last
// copy shows offline; redeeming needs the network and is safe to retry (the
// same client id never redeems twice).
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { formatTime } from "../labels.js";

const KIND = {
  report_valid: "Valid report", report_fixed: "Led to a fix", redeem: "Exchanged", revoke: "Taken back", adjust: "Adjusted",
};
const REASON = {
  photo_reused: "No points: the photo was used before",
  cooldown: "No points: already rewarded at this place today",
  daily_cap: "No points: today's limit reached",
  merged: "Merged into an earlier report",
  rejected: "Not accepted",
};
const PENDING_KEY = "civic-redeem-pending"; // item id → client id of a redemption not yet answered

function pendingIds() {
  try { return JSON.parse(localStorage.getItem(PENDING_KEY) || "{}"); } catch { return {}; }
}

function savePending(ids) {
  try { localStorage.setItem(PENDING_KEY, JSON.stringify(ids)); } catch { /* private mode: retries get a new id */ }
}

async function redeem(app, item) {
  if (!confirm(t("Exchange {cost} points for {name}?", { cost: item.cost, name: item.name }))) return;
  const pending = pendingIds();
  pending[item.id] ||= crypto.randomUUID(); // a retry after a lost answer reuses it
  savePending(pending);
  try {
    const { data } = await api("/api/v1/rewards/redemptions", { method: "POST", json: { client_id: pending[item.id], item_id: item.id } });
    delete pending[item.id];
    savePending(pending);
    toast(t("Exchanged. Show the code {code} at a service point.", { code: data.redemption.code }));
  } catch (failure) {
    if (!failure.isTransient) { delete pending[item.id]; savePending(pending); }
    toast(failure.isNetwork ? t("Exchanging needs the network; try again when online.") : failure.message);
  }
  app.navigate(location.hash);
}

function ledgerRow(entry) {
  const sign = entry.points > 0 ? `+${entry.points}` : String(entry.points);
  return h("li.ledger-row", {},
    h("span.row-main", {},
      h("strong", {}, t(KIND[entry.kind] || entry.kind)),
      h("span.muted", {}, [entry.case?.ref, formatTime(entry.created_at)].filter(Boolean).join(" · ")),
      entry.reason ? h("span.muted", {}, t(REASON[entry.reason] || entry.reason)) : null),
    h(`b.points${entry.points > 0 ? ".plus" : entry.points < 0 ? ".minus" : ""}`, {}, sign));
}

function codeCard(redemption) {
  return h(`li.code-card.code-${redemption.status}`, {},
    h("span.row-main", {}, h("strong", {}, redemption.item.name),
      h("span.muted", {}, redemption.status === "used" ? t("Used {time}", { time: formatTime(redemption.used_at) }) : t("Show this code at a service point"))),
    h("code.redeem-code", {}, redemption.code.replace(/(.{5})(.{5})/, "$1 $2")));
}

async function leaderboard(app, points) {
  const box = h("input", { type: "checkbox", checked: points.on_leaderboard || null });
  box.addEventListener("change", async () => {
    try {
      await api("/api/v1/me/leaderboard", { method: "PUT", json: { on_leaderboard: box.checked } });
      app.navigate(location.hash);
    } catch {
      box.checked = !box.checked;
      toast(t("Could not save; try again when online."));
    }
  });
  const list = h("ol.leaders");
  try {
    const { data } = await app.read("/api/v1/rewards/leaderboard");
    for (const leader of data.leaders) list.append(h("li", {}, h("span", {}, leader.name), h("b", {}, String(leader.points))));
    if (!data.leaders.length) list.append(h("li.empty", {}, t("Nobody on the board yet.")));
  } catch { list.append(h("li.empty", {}, t("Offline: the board shows when you are back online."))); }
  return h("details.settings", {}, h("summary", {}, t("Leaderboard (last 30 days)")),
    h("label.check", {}, box, t("Show me on the board (name masked)")), list);
}

export async function render(root, app) {
  root.append(h("h1", {}, t("My points")));
  let points;
  let catalogue = { items: [] };
  let cached = false;
  try {
    ({ data: points, cached } = await app.read("/api/v1/me/points"));
    catalogue = (await app.read("/api/v1/rewards").catch(() => ({ data: { items: [] } }))).data;
  } catch {
    root.append(h("p.empty", {}, t("Offline, and your points were not saved on the phone yet.")));
    return;
  }
  if (cached) root.append(h("p.muted", {}, t("Offline: showing the last copy.")));
  root.append(h("p.balance", {}, h("b", { id: "points-balance" }, String(points.balance)), t("points")));
  if (points.rules) {
    root.append(h("p.muted.rules", {}, t("A report accepted as valid earns {valid}; when it leads to a fix, {fixed} more. Up to {cap} rewarded reports a day; none for duplicates or reused photos.",
      { valid: points.rules.valid, fixed: points.rules.fixed, cap: points.rules.daily_cap })));
  }

  const codes = points.redemptions.filter((r) => r.status === "issued");
  if (codes.length) root.append(h("h2", {}, t("My codes")), h("ul.rows.codes", {}, codes.map(codeCard)));

  root.append(h("h2", {}, t("Rewards")));
  const items = h("ul.rows.rewards");
  for (const item of catalogue.items) {
    const short = points.balance < item.cost;
    items.append(h("li.reward", {},
      h("span.row-main", {}, h("strong", {}, item.name), h("span.muted", {}, item.description || ""),
        h("span.muted", {}, item.stock > 0 ? t("{n} left", { n: item.stock }) : t("Out of stock"))),
      h("button.button.small", { type: "button", disabled: short || item.stock <= 0 || cached || null, dataset: { item: item.id },
        onclick: () => redeem(app, item) }, t("{cost} points", { cost: item.cost }))));
  }
  if (!catalogue.items.length) items.append(h("li.empty", {}, t("No rewards at the moment.")));
  root.append(items);

  root.append(h("h2", {}, t("Points history")));
  const ledger = h("ul.rows.ledger");
  for (const entry of points.entries) ledger.append(ledgerRow(entry));
  if (!points.entries.length) ledger.append(h("li.empty", {}, t("No points yet. Report a problem; points come when it is accepted.")));
  const used = points.redemptions.filter((r) => r.status !== "issued");
  root.append(ledger);
  if (used.length) root.append(h("details", {}, h("summary", {}, t("Used codes")), h("ul.rows.codes", {}, used.map(codeCard))));
  root.append(await leaderboard(app, points));
}
