/* Civic grid service worker (foundation): keeps the app's static files for
 * offline use and never touches anything but GET. The field PWA issue extends
 * it with the app shell, offline navigation and push. */
const VERSION = "v1";
const STATIC_CACHE = `civic-static-${VERSION}`;
const SHELL = ["/static/css/app.css", "/static/icons/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC_CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) =>
      Promise.all(keys.filter((k) => k.startsWith("civic-") && k !== STATIC_CACHE).map((k) => caches.delete(k))),
    ),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/static/")) return;
  event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
});
