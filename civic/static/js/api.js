// fetch() for the JSON API with the device's bearer token. Every failure is an
// ApiFailure with the HTTP status (0 when the network failed) and the server's
// error object {code, message, field, ...}.
import { getToken } from "./session.js";

export class ApiFailure extends Error {
  constructor(status, error = {}, retryAfter = null) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : `http_${status}`);
    this.field = error.field || null;
    this.error = error;
    this.retryAfter = retryAfter;
  }

  get isNetwork() { return this.status === 0; }
  // Worth trying again later: no answer, a server error, a timeout, too many requests.
  get isTransient() { return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429; }
}

function retryAfterSeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

// Requests under way, so that an update can wait for a quiet page (see app.js).
let underWay = 0;
let held = null;
const whenQuiet = [];

export async function api(path, options) {
  if (held) await held;
  underWay += 1;
  try {
    return await request(path, options);
  } finally {
    underWay -= 1;
    if (!underWay) whenQuiet.splice(0).forEach((resolve) => resolve());
  }
}

// No new request leaves the page from now on (it reloads into the new version
// instead); resolves once those under way have ended.
export function holdRequests() {
  held ??= new Promise(() => {});
  return new Promise((resolve) => (underWay ? whenQuiet.push(resolve) : resolve()));
}

async function request(path, { method = "GET", json, form, timeout = 30000, headers = {} } = {}) {
  const token = await getToken();
  const sent = { ...headers };
  if (token) sent.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    sent["Content-Type"] = "application/json";
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, {
      method, headers: sent, body, credentials: "omit", cache: "no-store", signal: AbortSignal.timeout(timeout),
    });
  } catch (error) {
    throw new ApiFailure(0, { code: "network", message: String(error && error.message || error) });
  }
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    throw new ApiFailure(response.status, (data && data.error) || { message: response.statusText }, retryAfterSeconds(response));
  }
  return { status: response.status, data, headers: response.headers };
}
