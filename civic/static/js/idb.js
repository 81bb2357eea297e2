// The app's one IndexedDB database. Two stores: "outbox" (touched only by
// outbox.js) and "kv" (small settings: token, device id, draft, last sync).
// Works in pages and in the service worker.
const DB_NAME = "civic-field";
const DB_VERSION = 1;
let opening = null;

export function openDatabase() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("outbox")) {
        db.createObjectStore("outbox", { keyPath: "client_id" }).createIndex("status", "status");
      }
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab or a new service worker upgrades the schema: let it.
      db.onversionchange = () => { db.close(); opening = null; };
      resolve(db);
    };
    request.onerror = () => { opening = null; reject(request.error); };
  });
  return opening;
}

export function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Runs fn(store) in one transaction and resolves after the transaction has
// committed, so a resolved write is on disk (or rejected, e.g. QuotaExceededError).
export async function withStore(name, mode, fn) {
  const db = await openDatabase();
  const tx = db.transaction(name, mode);
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("Transaction aborted", "AbortError"));
  });
  let result;
  try {
    result = await fn(tx.objectStore(name));
  } catch (error) {
    try { tx.abort(); } catch { /* already finished */ }
    await committed.catch(() => {});
    throw error;
  }
  await committed;
  return result;
}

export const getValue = (key) => withStore("kv", "readonly", (s) => promisify(s.get(key)));
export const setValue = (key, value) => withStore("kv", "readwrite", (s) => promisify(s.put(value, key)));
export const deleteValue = (key) => withStore("kv", "readwrite", (s) => promisify(s.delete(key)));
