// New assignments while the app is open, without push: poll my tasks with
// If-None-Match (a 304 costs a few bytes), and show a banner and a badge for
// tasks not seen before. Works where push cannot reach (blocked push service,
// permission refused, iOS outside the home screen).
import { api } from "./api.js";
import { getValue, setValue } from "./idb.js";
import { getToken } from "./session.js";

export const POLL_MS = 8000; // a new task shows within 10 s

let etag = null;
let timer = null;

async function fetchTasks() {
  if (!(await getToken())) return null;
  try {
    const { data, headers } = await api("/api/v1/tasks", { headers: etag ? { "If-None-Match": etag } : {} });
    etag = headers.get("ETag");
    return data.tasks;
  } catch {
    return null; // 304: nothing new; or offline: try at the next tick
  }
}

// Tasks not seen before by this device. The first look only learns what exists.
async function newTasks(tasks) {
  const seen = new Set((await getValue("seen_tasks")) || []);
  const first = !(await getValue("seen_tasks"));
  const fresh = first ? [] : tasks.filter((t) => !seen.has(t.id) && ["dispatched", "acknowledged", "in_progress"].includes(t.status));
  await setValue("seen_tasks", tasks.map((t) => t.id));
  return fresh;
}

export async function checkNow(onNew) {
  try {
    const tasks = await fetchTasks();
    if (!tasks) return;
    const fresh = await newTasks(tasks);
    navigator.setAppBadge?.(tasks.filter((t) => t.status === "dispatched").length).catch(() => {});
    if (fresh.length) onNew(fresh);
  } catch { /* offline: try at the next tick */ }
}

export function startWatching(onNew) {
  stopWatching();
  const tick = () => { if (document.visibilityState === "visible") checkNow(onNew); };
  tick();
  timer = setInterval(tick, POLL_MS);
}

export function stopWatching() {
  clearInterval(timer);
  timer = null;
  etag = null;
}
