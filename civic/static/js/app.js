// The field app: boots, routes between screens, keeps the sync status in view,
// and runs the outbox's flushes. Screens live in screens/*.js.
import { api, holdRequests } from "./api.js";
import { startWatching, stopWatching } from "./notices.js";
import { disablePush, enablePush } from "./push.js";
import { blobUrl, h, releaseBlobUrls, toast } from "./dom.js";
import { applyLanguage, language, setLanguage, t } from "./i18n.js";
import * as outbox from "./outbox.js";
import { authRequired, currentUser, forgetLogin, getToken, updateUser } from "./session.js";
import { lastSyncAt, syncNow } from "./sync.js";
import { cacheTiles } from "./tiles.js";
import * as account from "./screens/account.js";
import * as capture from "./screens/capture.js";
import * as home from "./screens/home.js";
import * as login from "./screens/login.js";
import * as map from "./screens/map.js";
import * as points from "./screens/points.js";
import * as provision from "./screens/provision.js";
import * as queue from "./screens/queue.js";
import * as tasks from "./screens/tasks.js";

const FLUSH_EVERY_MS = 30000;
const HEARTBEAT_EVERY_MS = 300000;

const ROUTES = [
  [/^\/?$/, home.render, "home"],
  [/^\/capture(?:\?(.*))?$/, capture.render, "capture"], // ?poster=CODE: opened from a QR poster
  [/^\/outbox$/, queue.render, "outbox"],
  [/^\/tasks$/, tasks.renderList, "tasks"],
  [/^\/tasks\/(\d+)$/, tasks.renderTask, "tasks"],
  [/^\/cases\/(\d+)$/, tasks.renderTask, "home"],
  [/^\/map$/, map.render, "map"],
  [/^\/login$/, login.render, "login"],
  [/^\/account$/, account.render, "account"],
  [/^\/points$/, points.render, "points"],
];

const app = {
  version: document.querySelector('meta[name="app-version"]')?.content || "dev",
  user: null,
  busy: false, // a capture in progress: updates wait until it is saved
  cleanup: null,
  updateWorker: null,

  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },

  // GET through the service worker: network first, the last copy when offline.
  async read(path) {
    const { data, headers } = await api(path);
    return { data, cached: headers.get("X-Civic-Cache") === "hit", date: headers.get("Date") };
  },

  async sync({ force = false, quiet = true } = {}) {
    const result = await syncNow({ force, appVersion: app.version }).catch((error) => ({ error }));
    await refreshStatus();
    scheduleRetry();
    if (!quiet) {
      if (result.busy) toast(t("Already syncing…"));
      else if (result.auth) toast(t("Log in again to send your reports."));
      else if (result.offline) toast(t("No connection. Your reports wait safely on this phone."));
      else if (result.failed) toast(t("The server had a problem; will try again."));
      else toast(t("Synced."));
    }
    return result;
  },

  async requestBackgroundSync() {
    // An extra path where the browser has it: sync even after the app is closed.
    const registration = await navigator.serviceWorker?.ready.catch(() => null);
    await registration?.sync?.register("outbox").catch(() => {});
  },

  // Fill the service worker's copies of what a day offline needs.
  async prefetch() {
    const paths = app.user?.role === "resident"
      ? ["/api/v1/categories", "/api/v1/client-config", "/api/v1/reports?limit=30", "/api/v1/me/points", "/api/v1/rewards"]
      : ["/api/v1/categories", "/api/v1/client-config", "/api/v1/me/grids", "/api/v1/tasks", "/api/v1/reports?limit=30"];
    await Promise.all(paths.map((path) => api(path).catch(() => null)));
    // Staff keep the base map of their grids, in the background (js/tiles.js).
    if (app.user && app.user.role !== "resident") cacheTiles().catch(() => {});
  },

  // New tasks while the app is open, push or no push.
  watchTasks() {
    startWatching((fresh) => showNewTasks(fresh));
  },

  // A login waits for a logout still under way, so the old one cannot undo the new.
  loggingOut: Promise.resolve(),

  logOut() {
    app.loggingOut = (async () => {
      stopWatching();
      await disablePush();
      await api("/api/v1/auth/token", { method: "DELETE" }).catch(() => {}); // offline: the token lapses by itself
      await forgetLogin();
      navigator.serviceWorker?.controller?.postMessage({ type: "LOGGED_OUT" }); // drop the copies of my data
      app.user = null;
    })();
    return app.loggingOut.then(() => app.navigate("#/login"));
  },

  setBusy(busy) {
    app.busy = busy;
    if (!busy && app.updateWorker) showUpdateBanner();
  },
};
window.civicApp = app; // for the browser tests and for debugging on a phone

const time = (ms) => new Date(ms).toLocaleTimeString(language() === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit" });

async function refreshStatus() {
  const counts = await outbox.summary();
  const last = await lastSyncAt();
  const chip = document.getElementById("sync-status");
  const parts = [counts.pending ? t("{n} waiting", { n: counts.pending }) : t("All sent")];
  if (counts.rejected) parts.push(t("{n} need attention", { n: counts.rejected }));
  parts.push(last ? t("last synced {time}", { time: time(last) }) : t("not synced yet"));
  chip.textContent = parts.join(" · ");
  chip.classList.toggle("warn", counts.rejected > 0);
  chip.dataset.pending = counts.pending;
  chip.dataset.rejected = counts.rejected;
  await refreshAuthBanner(counts.pending);
}

async function refreshAuthBanner(pending) {
  const banner = document.getElementById("auth-banner");
  const needed = app.user && (await authRequired());
  banner.hidden = !needed || location.hash === "#/login";
  if (needed) {
    banner.replaceChildren(
      h("span", {}, t("Your login has expired. {n} items wait safely on this phone.", { n: pending })),
      h("a.button.small", { href: "#/login" }, t("Log in again")),
    );
  }
}

// Wake up when the first item's backoff is over, rather than at the next tick.
let retryTimer = null;
async function scheduleRetry() {
  clearTimeout(retryTimer);
  const waiting = (await outbox.list()).filter((r) => r.status === "pending" && r.attempts > 0);
  if (!waiting.length) return;
  const soonest = Math.min(...waiting.map((r) => r.next_attempt_at));
  retryTimer = setTimeout(() => app.sync(), Math.max(1000, soonest - Date.now() + 50));
}

// Alerts were allowed before: make sure the server has this phone's current subscription.
function renewPush() {
  if (globalThis.Notification?.permission === "granted") enablePush().catch(() => {});
}
app.renewPush = renewPush;

function showNewTasks(tasks) {
  const banner = document.getElementById("task-banner");
  const first = tasks[0];
  const name = language() === "zh" ? first.category.name : first.category.name_en || first.category.name;
  banner.hidden = false;
  banner.replaceChildren(
    h("span", {}, tasks.length === 1 ? t("New task: {name} · {ref}", { name, ref: first.ref }) : t("{n} new tasks", { n: tasks.length })),
    h("a.button.small", { href: tasks.length === 1 ? `#/tasks/${first.id}` : "#/tasks", onclick: () => { banner.hidden = true; } }, t("Open")),
  );
  if (location.hash === "#/tasks") route();
}

let reloading = false;
function reloadOnce() {
  if (reloading) return;
  reloading = true;
  location.reload();
}

function showUpdateBanner() {
  const banner = document.getElementById("update-banner");
  if (app.busy || app.reloadRequested) return; // never in the middle of a capture; once tapped, it stays tapped
  banner.hidden = false;
  banner.replaceChildren(
    h("span", {}, t("A new version is ready.")),
    h("button.button.small", {
      type: "button",
      onclick: (event) => {
        event.currentTarget.disabled = true;
        update();
      },
    }, t("Update now")),
  );
}

// Chromium lets the new worker take over only once the old one has stopped, and
// stops it as soon as it is idle. A request from this page that reaches the old
// worker as it stops starts it again, and the task poll then keeps it running:
// the new worker would wait the 5 minutes Chromium allows. So the page goes
// quiet first: nothing new is sent (the page reloads instead), and once what is
// under way has ended, images included, the waiting worker takes over.
async function update() {
  app.reloadRequested = true;
  stopWatching();
  await holdRequests();
  const loading = [...document.images].filter((img) => !img.complete && img.loading !== "lazy");
  await Promise.all(loading.map((img) => img.decode().catch(() => {})));
  app.handingOver = true;
  const registration = await navigator.serviceWorker.getRegistration();
  skipWaiting(registration?.waiting || app.updateWorker); // the newest, should another have come since the banner
}

function skipWaiting(worker) {
  if (!worker) return;
  // controllerchange normally brings the reload; "activated" is the fallback
  // when it comes before the listener sees it (a busy phone).
  worker.addEventListener("statechange", () => { if (worker.state === "activated") reloadOnce(); });
  worker.postMessage({ type: "SKIP_WAITING" });
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
  const offer = (worker) => {
    app.updateWorker = worker;
    if (app.handingOver) skipWaiting(worker); // a newer one came while the last was taking over
    else showUpdateBanner();
  };
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker?.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
    });
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (app.reloadRequested) reloadOnce();
    else if (app.user) app.prefetch(); // the first worker took over: keep copies from now on
  });
  setInterval(() => registration.update().catch(() => {}), 30 * 60000);
}

// Where a visitor was going when the app sent them to log in (a scanned QR
// poster's report screen). Logging in and registering land on "#/"; the next
// route takes the visitor there instead, once.
const AFTER_LOGIN = "civic-after-login";
function rememberRoute(path) {
  if (path === "/" || path === "/login" || path.length > 200) return;
  try { sessionStorage.setItem(AFTER_LOGIN, path); } catch { /* storage off: they start at home */ }
}
function takeRememberedRoute() {
  try {
    const path = sessionStorage.getItem(AFTER_LOGIN);
    sessionStorage.removeItem(AFTER_LOGIN);
    return path;
  } catch { return null; }
}

function markTab(name) {
  for (const tab of document.querySelectorAll(".tabbar a")) {
    tab.toggleAttribute("aria-current", tab.dataset.tab === name);
    if (tab.dataset.tab === name) tab.setAttribute("aria-current", "page");
  }
}

async function route() {
  const path = location.hash.replace(/^#/, "") || "/";
  const match = ROUTES.map(([pattern, render, tab]) => [path.match(pattern), render, tab]).find(([m]) => m);
  const [params, render, tab] = match || [[path], home.render, "home"];
  if (app.cleanup) { try { app.cleanup(); } catch { /* screen already gone */ } }
  app.cleanup = null;
  releaseBlobUrls();
  const screen = document.getElementById("screen");
  if (!app.user && render !== login.render) {
    rememberRoute(path);
    location.replace("#/login");
    return;
  }
  const wanted = render !== login.render && app.user ? takeRememberedRoute() : null;
  if (wanted && path === "/") { // logged in (or registered): back to where the visitor was going
    location.replace(`#${wanted}`);
    return;
  }
  markTab(tab);
  document.body.dataset.screen = tab;
  document.body.dataset.role = app.user?.role === "resident" ? "resident" : "staff"; // which tabs show
  screen.replaceChildren();
  try {
    app.cleanup = (await render(screen, app, ...params.slice(1))) || null;
  } catch (error) {
    screen.replaceChildren(h("p.flash.flash-error", { role: "alert" }, t("Something went wrong: {message}", { message: error.message })));
  }
  screen.focus({ preventScroll: true });
  refreshStatus();
}

function buildChrome() {
  applyLanguage(document);
  document.getElementById("lang-toggle").addEventListener("click", () => {
    setLanguage(language() === "zh" ? "en" : "zh");
    applyLanguage(document);
    route();
  });
  document.getElementById("sync-status").addEventListener("click", () => app.navigate("#/outbox"));
  outbox.onChange(() => refreshStatus());
}

async function loadUser() {
  app.user = (await getToken()) || (await authRequired()) ? await currentUser() : null;
  if (!app.user || (await authRequired())) return;
  try {
    const { data } = await api("/api/v1/me");
    app.user = data;
    await updateUser(data);
  } catch { /* offline: the saved user is good enough */ }
}

function startSyncTriggers() {
  window.addEventListener("online", () => app.sync());
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") app.sync(); });
  setInterval(async () => { if ((await outbox.summary()).pending) app.sync(); }, FLUSH_EVERY_MS);
  setInterval(() => app.sync(), HEARTBEAT_EVERY_MS);
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "outbox-changed") refreshStatus();
  });
}

async function boot() {
  const code = provision.takeCode(); // first: off the address bar before anything can keep it
  buildChrome();
  await loadUser();
  if (app.user?.must_change_password && navigator.onLine) {
    // Started again before the one-time password was replaced: every other call would answer 403.
    await login.requirePassword(document.getElementById("screen"));
    app.user = { ...app.user, must_change_password: false };
    await updateUser(app.user);
  }
  window.addEventListener("hashchange", route);
  await route();
  startSyncTriggers();
  registerServiceWorker().catch((error) => console.warn("service worker", error));
  if (app.user && code === null) {
    app.sync();
    app.prefetch();
    app.watchTasks();
    renewPush();
  }
  document.body.dataset.ready = "1";
  // Opened from a printed phone code: log this phone in with it (completeLogin starts the rest).
  if (code !== null && !(await provision.redeem(document.getElementById("screen"), app, code)) && app.user) {
    app.sync();
    app.watchTasks();
  }
}

export { app, blobUrl, refreshStatus };
boot();
