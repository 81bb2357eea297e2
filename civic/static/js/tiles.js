// The county's base map kept on the phone: the tiles covering my grids (the
// server's plan, /api/v1/tiles/plan, within its cap), fetched in the background
// after login into a cache of their own, "civic-tiles-<version>". A new version
// of the pack is a new cache; the old one goes once the new is filled. The
// service worker answers /tiles/ from these caches first, so a phone with no
// signal still shows the streets around its grids.
import { api } from "./api.js";
import { getValue, setValue } from "./idb.js";

export const TILE_CACHE_PREFIX = "civic-tiles-";
const PARALLEL = 4;
const SAVE_EVERY = 25;
let running = null;

// Fill the cache (once at a time); → the status, or null without a pack or offline.
export function cacheTiles() {
  running ??= fill().finally(() => { running = null; });
  return running;
}

// {pack, version, count, bytes, cached, capped, at} of the last fill, or null.
export const tileStatus = () => getValue("tiles").catch(() => null);

async function dropOthers(keep) {
  for (const key of await caches.keys()) {
    if (key.startsWith(TILE_CACHE_PREFIX) && key !== keep) await caches.delete(key);
  }
}

async function fill() {
  if (!globalThis.caches) return null;
  let plan;
  try {
    plan = (await api("/api/v1/tiles/plan")).data;
  } catch {
    return tileStatus(); // offline: what is cached stays
  }
  if (!plan.pack) {
    await dropOthers(null);
    await setValue("tiles", null);
    return null;
  }
  const name = TILE_CACHE_PREFIX + plan.version;
  const cache = await caches.open(name);
  const have = new Set((await cache.keys()).map((request) => { const u = new URL(request.url); return u.pathname + u.search; }));
  const missing = plan.tiles.filter((url) => !have.has(url));
  const status = { pack: plan.pack, version: plan.version, count: plan.count, bytes: plan.bytes,
    cached: plan.count - missing.length, capped: plan.capped, at: Date.now() };
  await setValue("tiles", status);
  let next = 0;
  async function worker() {
    while (next < missing.length) {
      const url = missing[next++];
      try {
        const response = await fetch(url);
        if (response.ok) await cache.put(url, response);
        if (response.ok || response.status === 204) status.cached += 1;
      } catch {
        return; // offline again: the rest comes next time
      }
      if (status.cached % SAVE_EVERY === 0) await setValue("tiles", { ...status });
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  status.at = Date.now();
  await setValue("tiles", status);
  if (status.cached >= status.count) await dropOthers(name);
  return status;
}
