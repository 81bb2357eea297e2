// The outbox: everything the worker made on this phone that the server has not
// confirmed yet. This module is the only code that touches the "outbox" store.
//
// A record: { client_id, kind: "report" | "action", url, meta, photos: [{blob, name}],
//   thumb, label, case_id, user_id, status, attempts, next_attempt_at, last_error,
//   created_at, updated_at, sent_at, server }
// status: pending → sending → sent, or rejected (the server said no; the worker
// decides). Nothing leaves the store before the server confirmed it (200/201).
// The client_id goes with every retry, so the server applies each record once.
import { api } from "./api.js";
import { promisify, withStore } from "./idb.js";
import { currentUser, getToken, markAuthRequired } from "./session.js";

const STORE = "outbox";
const LOCK = "civic-outbox-flush";
const MAX_BACKOFF_SECONDS = 300;
const SENT_KEPT_DAYS = 7; // sent records stay visible for a week, without their photos
const UPLOAD_TIMEOUT_MS = 120000;

const channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("civic-outbox") : null;
const listeners = new Set();

// Other tabs and the service worker change the outbox too: every change is
// announced to every page, which redraws what it shows.
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(detail = {}) {
  for (const listener of listeners) listener(detail);
  channel?.postMessage(detail);
}
channel?.addEventListener("message", (event) => { for (const l of listeners) l(event.data || {}); });

export const backoffSeconds = (attempts) => Math.min(2 ** attempts, MAX_BACKOFF_SECONDS);

const readAll = () => withStore(STORE, "readonly", (s) => promisify(s.getAll()));
const get = (clientId) => withStore(STORE, "readonly", (s) => promisify(s.get(clientId)));

async function patch(clientId, changes) {
  return withStore(STORE, "readwrite", async (store) => {
    const record = await promisify(store.get(clientId));
    if (!record) return null;
    Object.assign(record, changes, { updated_at: Date.now() });
    await promisify(store.put(record));
    return record;
  });
}

// Adds a report or task action; resolves once it is safely stored. A full
// disk rejects with a QuotaExceededError and stores nothing: the caller keeps
// the worker's input on screen.
export async function enqueue({ kind, url, meta, photos = [], thumb = null, label = "", caseId = null }) {
  const user = await currentUser();
  const clientId = crypto.randomUUID();
  const now = Date.now();
  const record = {
    client_id: clientId, kind, url, meta: { ...meta, client_id: clientId }, photos, thumb, label,
    case_id: caseId, user_id: user ? user.id : null, status: "pending", attempts: 0, next_attempt_at: 0,
    last_error: null, created_at: now, updated_at: now, sent_at: null, server: null,
  };
  await withStore(STORE, "readwrite", (s) => promisify(s.add(record)));
  changed({ type: "added", client_id: clientId });
  return record;
}

export async function list() {
  return (await readAll()).sort((a, b) => b.created_at - a.created_at);
}

export async function find(clientId) {
  return get(clientId);
}

export async function summary() {
  const records = await readAll();
  const waiting = records.filter((r) => r.status === "pending" || r.status === "sending");
  return {
    pending: waiting.length,
    rejected: records.filter((r) => r.status === "rejected").length,
    sent: records.filter((r) => r.status === "sent").length,
    oldest_pending_at: waiting.length ? Math.min(...waiting.map((r) => r.created_at)) : null,
  };
}

// The worker asks to try a rejected (or waiting) record again now.
export async function retry(clientId) {
  await patch(clientId, { status: "pending", next_attempt_at: 0, last_error: null });
  changed({ type: "retry", client_id: clientId });
}

// Only ever on the worker's explicit choice, for a record the server never took.
export async function discard(clientId) {
  await withStore(STORE, "readwrite", async (store) => {
    const record = await promisify(store.get(clientId));
    if (record && record.status !== "sent" && record.status !== "sending") await promisify(store.delete(clientId));
  });
  changed({ type: "discarded", client_id: clientId });
}

// A fixed report replaces a rejected one in one transaction, with a new
// client_id (the server may hold the old id for something else: 409).
export async function replace(oldClientId, fields) {
  const clientId = crypto.randomUUID();
  await withStore(STORE, "readwrite", async (store) => {
    const old = await promisify(store.get(oldClientId));
    if (!old) throw new Error("That item is no longer in the outbox.");
    const now = Date.now();
    const record = {
      ...old, ...fields, client_id: clientId, meta: { ...old.meta, ...fields.meta, client_id: clientId },
      status: "pending", attempts: 0, next_attempt_at: 0, last_error: null, created_at: old.created_at, updated_at: now,
    };
    await promisify(store.add(record));
    await promisify(store.delete(oldClientId));
  });
  changed({ type: "replaced", client_id: clientId });
  return clientId;
}

async function dropOldSent() {
  const cutoff = Date.now() - SENT_KEPT_DAYS * 86400000;
  await withStore(STORE, "readwrite", async (store) => {
    for (const record of await promisify(store.getAll())) {
      if (record.status === "sent" && record.sent_at < cutoff) await promisify(store.delete(record.client_id));
    }
  });
}

function formFor(record) {
  const form = new FormData();
  form.append("meta", JSON.stringify(record.meta));
  for (const photo of record.photos) form.append("photo", photo.blob, photo.name || "photo.jpg");
  return form;
}

function errorOf(failure) {
  const { code, message, field } = failure;
  return { status: failure.status, code, message, field, case: failure.error?.case || null, at: Date.now() };
}

// What the last retryable failure was ("HTTP 503", "network"), for the flush's result.
let lastTransient = null;

async function sendOne(record) {
  try {
    const { data } = await api(record.url, { method: "POST", form: formFor(record), timeout: UPLOAD_TIMEOUT_MS });
    const server = data.case ? { id: data.case.id, ref: data.case.ref, status: data.case.status } : { id: data.id, ref: data.ref, status: data.status };
    await patch(record.client_id, { status: "sent", sent_at: Date.now(), server, photos: [], last_error: null });
    return "sent";
  } catch (failure) {
    if (failure.status === 401) {
      await patch(record.client_id, { status: "pending", last_error: errorOf(failure) });
      return "auth";
    }
    if (failure.isTransient || !failure.status) {
      const attempts = record.attempts + 1;
      const wait = Math.max(backoffSeconds(attempts), failure.retryAfter || 0);
      await patch(record.client_id, {
        status: "pending", attempts, next_attempt_at: Date.now() + wait * 1000, last_error: errorOf(failure),
      });
      lastTransient = failure.isNetwork || !failure.status ? "network" : `HTTP ${failure.status}`;
      return failure.isNetwork ? "offline" : "failed";
    }
    // 409 and every other 4xx: the same request will never succeed.
    await patch(record.client_id, { status: "rejected", attempts: record.attempts + 1, last_error: errorOf(failure) });
    return "rejected";
  }
}

async function flushUnlocked(force) {
  const result = { sent: 0, rejected: 0, failed: 0, offline: false, auth: false, error: null };
  lastTransient = null;
  const user = await currentUser();
  if (!user || !(await getToken())) {
    result.auth = true;
    return result;
  }
  const now = Date.now();
  const due = (await readAll())
    // "sending" is only found here after a tab died mid-upload: we hold the lock.
    .filter((r) => (r.status === "pending" || r.status === "sending") && r.user_id === user.id)
    .filter((r) => force || r.next_attempt_at <= now)
    .sort((a, b) => a.created_at - b.created_at);
  for (const record of due) {
    await patch(record.client_id, { status: "sending" });
    changed({ type: "sending", client_id: record.client_id });
    const outcome = await sendOne(record);
    changed({ type: outcome, client_id: record.client_id });
    if (outcome === "sent") result.sent += 1;
    else if (outcome === "rejected") result.rejected += 1;
    else if (outcome === "failed") result.failed += 1;
    else if (outcome === "offline") { result.offline = true; break; }
    else if (outcome === "auth") { result.auth = true; await markAuthRequired(); break; }
  }
  await dropOldSent();
  result.error = lastTransient;
  return result;
}

// Sends what is due, one record at a time, oldest first. One flush at a time
// across tabs and the service worker; a second caller gets {busy: true}.
// force: also send records still waiting out their backoff ("Sync now").
export async function flush({ force = false } = {}) {
  if (!navigator.locks) return flushUnlocked(force);
  return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? flushUnlocked(force) : { busy: true }));
}
