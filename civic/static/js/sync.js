// One sync: send the outbox, then tell the server how this device is doing
// (the heartbeat the supervisors' sync dashboard reads). Used by the page and
// by the service worker's Background Sync.
import { api } from "./api.js";
import { getValue, setValue } from "./idb.js";
import * as outbox from "./outbox.js";
import { deviceId, markAuthRequired } from "./session.js";

const iso = (ms) => (ms ? new Date(ms).toISOString() : null);

export const lastSyncAt = () => getValue("last_sync_at");

async function storageFacts() {
  const storage = globalThis.navigator?.storage;
  const estimate = storage?.estimate ? await storage.estimate().catch(() => ({})) : {};
  const persisted = storage?.persisted ? await storage.persisted().catch(() => null) : null;
  return {
    storage_used: Number.isFinite(estimate.usage) ? Math.round(estimate.usage) : null,
    storage_quota: Number.isFinite(estimate.quota) ? Math.round(estimate.quota) : null,
    persisted,
  };
}

// Failed sync attempts of the last day, for the supervisors: a server error, or
// no answer while the phone believed it was online (no signal is not a failure).
const FAILURES = "sync_failures";
const DAY_MS = 86400000;

async function recentFailures() {
  const now = Date.now();
  return ((await getValue(FAILURES)) || []).filter((f) => now - f.at < DAY_MS);
}

async function recordFailure(code) {
  const kept = (await recentFailures()).slice(-49);
  kept.push({ at: Date.now(), code: String(code || "error").slice(0, 64) });
  await setValue(FAILURES, kept);
}

async function failureFacts() {
  const recent = await recentFailures();
  const last = recent[recent.length - 1];
  return { sync_failures: recent.length, last_failure_at: last ? iso(last.at) : null, last_failure: last ? last.code : null };
}

export async function heartbeat(appVersion) {
  const counts = await outbox.summary();
  await api("/api/v1/devices/heartbeat", {
    method: "POST",
    json: {
      device_id: await deviceId(),
      app_version: appVersion,
      pending: counts.pending,
      rejected: counts.rejected,
      oldest_pending_at: iso(counts.oldest_pending_at),
      last_sync_at: iso(await lastSyncAt()),
      ...(await storageFacts()),
      ...(await failureFacts()),
    },
  });
}

// Returns the flush result. "Last synced" moves only when the server answered
// everything that was due: nothing left waiting because of the network or a 5xx.
export async function syncNow({ force = false, appVersion = "unknown" } = {}) {
  const result = await outbox.flush({ force });
  if (result.busy || result.auth) return result;
  if (result.failed || (result.offline && globalThis.navigator?.onLine)) await recordFailure(result.error);
  if (!result.offline && !result.failed) {
    try {
      await heartbeat(appVersion);
      await setValue("last_sync_at", Date.now());
      result.synced = true;
    } catch (failure) {
      result.heartbeatError = failure.code;
      if (failure.status === 401) {
        await markAuthRequired();
        result.auth = true;
      }
    }
  }
  return result;
}
