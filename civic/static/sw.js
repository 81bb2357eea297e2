/* Civic grid's service worker: the app shell offline, the worker's read data
 * network-first, and Background Sync for the outbox. A module worker, so it
 * sends the outbox with the very same code as the page (js/sync.js).
 *
 * VERSION is a hash of the shell's files and SHELL their list, both written in
 * by the server (see devices/shell.py): any change to them installs a new worker, which waits
 * until the worker taps "Update now" (never in the middle of a capture). */
import { keyBytes, sendSubscription } from "/static/js/push.js";
import { syncNow } from "/static/js/sync.js";

const VERSION = "__SHELL_VERSION__";
const SHELL_CACHE = `civic-shell-${VERSION}`;
const DATA_CACHE = "civic-data";
const PHOTO_CACHE = "civic-photos";
const PHOTOS_KEPT = 300; // thumbnails of tasks and reports; the oldest go first
const TILE_CACHES = "civic-tiles-"; // the base map around my grids (js/tiles.js fills them)
// The app shell to precache: the server writes in its list (SHELL_PAGES and
// SHELL_STATIC in devices/shell.py, the files VERSION is hashed from).
const SHELL = ["__SHELL_FILES__"];
// The worker's read data: network first, the last copy when offline (a poster's
// place too, so a report begun at a QR poster can be reopened with no signal).
const DATA = [/^\/api\/v1\/(me|me\/grids|me\/points|tasks|categories|client-config|reports|rewards|rewards\/leaderboard)$/, /^\/api\/v1\/cases\/\d+$/,
  /^\/api\/v1\/posters\/[A-Za-z0-9]{1,16}$/];

self.addEventListener("install", (event) => {
  // cache: "reload" skips the HTTP cache, so the shell is the server's current one.
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    const keep = new Set([SHELL_CACHE, DATA_CACHE, PHOTO_CACHE]);
    await Promise.all(keys.filter((k) => k.startsWith("civic-") && !k.startsWith(TILE_CACHES) && !keep.has(k))
      .map((k) => caches.delete(k)));
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "SKIP_WAITING") self.skipWaiting();
  if (event.data?.type === "LOGGED_OUT") event.waitUntil(caches.delete(DATA_CACHE));
  // The app's own list of alerts opens one the same way a tap on it would.
  if (event.data?.type === "OPEN_NOTIFICATION") {
    event.waitUntil(self.registration.getNotifications({ tag: event.data.tag }).then((found) => {
      found.forEach((n) => n.close());
      return openTarget(found[0]?.data?.url || event.data.url || "/field/#/tasks");
    }));
  }
});

async function shellFirst(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true });
  return cached || fetch(request);
}

async function navigation(request) {
  const url = new URL(request.url);
  if (url.pathname === "/field/") {
    // The shell is versioned with the worker: answer from the cache at once, even on "lie-fi".
    const shell = await caches.match("/field/", { cacheName: SHELL_CACHE });
    if (shell) return shell;
  }
  try {
    return await fetch(request);
  } catch (error) {
    const shell = await caches.match("/field/", { cacheName: SHELL_CACHE });
    if (shell) return shell;
    throw error;
  }
}

async function networkFirst(request) {
  const cache = await caches.open(DATA_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreVary: true });
    if (!cached) throw error;
    const headers = new Headers(cached.headers);
    headers.set("X-Civic-Cache", "hit");
    return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
  }
}

// Tiles: from the phone's tile caches when there (their URLs carry the pack's version), else the network.
async function tileCacheFirst(request) {
  for (const key of await caches.keys()) {
    if (!key.startsWith(TILE_CACHES)) continue;
    const cached = await caches.match(request, { cacheName: key });
    if (cached) return cached;
  }
  return fetch(request);
}

async function photoCacheFirst(request) {
  const cache = await caches.open(PHOTO_CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    await cache.put(request, response.clone());
    const keys = await cache.keys(); // in insertion order
    await Promise.all(keys.slice(0, Math.max(0, keys.length - PHOTOS_KEPT)).map((key) => cache.delete(key)));
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // Never POSTs, never another origin, never anything about logging in.
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/auth/")) return;
  if (request.mode === "navigate") return event.respondWith(navigation(request));
  if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") return event.respondWith(shellFirst(request));
  if (DATA.some((pattern) => pattern.test(url.pathname))) return event.respondWith(networkFirst(request));
  if (url.pathname.startsWith("/photos/")) return event.respondWith(photoCacheFirst(request));
  if (url.pathname.startsWith("/tiles/")) return event.respondWith(tileCacheFirst(request));
});

// Background Sync, where the browser has it: an extra path, never the only one.
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil((async () => {
    const result = await syncNow({ appVersion: VERSION });
    for (const client of await self.clients.matchAll()) client.postMessage({ type: "outbox-changed" });
    // Throwing asks the browser to try this sync again later.
    if (result.offline || result.failed) throw new Error("outbox not yet sent");
  })());
});

// -- Push: a new assignment, a reminder, a change on my report --------------------

self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch { message = { body: event.data?.text() }; }
  const tag = message.tag || (message.case_id ? `case-${message.case_id}` : "civic");
  event.waitUntil(self.registration.showNotification(message.title || "网格通", {
    body: message.body || "您有新的任务",
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/badge-96.png",
    tag, // one notification per case: a repeat replaces the last
    renotify: Boolean(message.urgent),
    requireInteraction: Boolean(message.urgent),
    lang: "zh-CN",
    data: { url: message.url || "/field/#/tasks", case_id: message.case_id || null, kind: message.kind || null },
  }));
});

// Focus an open window of the app on the task, or open one.
async function openTarget(url) {
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const app = windows.find((w) => new URL(w.url).pathname === "/field/") || windows[0];
  if (app) {
    // focus() needs the user's tap (notificationclick); from the app's own list it may be refused.
    const focused = await app.focus().catch(() => app);
    return (focused || app).navigate(target).catch(() => self.clients.openWindow(target));
  }
  return self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openTarget(event.notification.data?.url || "/field/#/tasks"));
});

// The browser renewed the subscription: tell the server about the new one.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil((async () => {
    const key = async () => keyBytes((await (await fetch("/api/v1/push/key")).json()).public_key);
    const options = event.oldSubscription?.options || { userVisibleOnly: true, applicationServerKey: await key() };
    const subscription = event.newSubscription || (await self.registration.pushManager.subscribe(options));
    await sendSubscription(subscription);
  })());
});
