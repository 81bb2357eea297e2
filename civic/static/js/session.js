// Who is logged in on this device: the bearer token, the user, the device id.
// Kept in IndexedDB so the service worker can sync with the same token.
import { deleteValue, getValue, setValue } from "./idb.js";

export async function deviceId() {
  let id = await getValue("device_id");
  if (!id) {
    id = crypto.randomUUID();
    await setValue("device_id", id);
  }
  return id;
}

export const getToken = () => getValue("token");
export const currentUser = () => getValue("user");
export const authRequired = async () => Boolean(await getValue("auth_required"));

export async function saveLogin(token, user) {
  await setValue("token", token);
  await setValue("user", user);
  await deleteValue("auth_required");
}

export async function updateUser(user) {
  await setValue("user", user);
}

// The server refused the token (expired or revoked). The user is kept, so
// the login form is prefilled and the queue stays theirs; the token goes.
export async function markAuthRequired() {
  await deleteValue("token");
  await setValue("auth_required", true);
}

export async function forgetLogin() {
  await deleteValue("token");
  await deleteValue("user");
  await deleteValue("auth_required");
}
