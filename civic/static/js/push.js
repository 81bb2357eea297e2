// Web Push on this device: ask at a sensible moment (the worker taps "Turn on
// task alerts", after logging in), subscribe with the server's VAPID key, and
// tell the server. Push is never the only way: the app also polls while open.
import { api } from "./api.js";
import { deleteValue, getValue, setValue } from "./idb.js";
import { deviceId } from "./session.js";

export const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

export function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

// "on", "off" (not asked or turned off), "denied" (the browser says no), "unsupported".
export async function pushState() {
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  return subscription && Notification.permission === "granted" ? "on" : "off";
}

export async function sendSubscription(subscription) {
  const json = subscription.toJSON();
  await api("/api/v1/push/subscriptions", {
    method: "POST", json: { endpoint: json.endpoint, keys: json.keys, device_id: await deviceId() },
  });
  await setValue("push_endpoint", json.endpoint);
}

export async function enablePush() {
  if (!pushSupported()) return "unsupported";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return permission === "denied" ? "denied" : "off";
  const { data } = await api("/api/v1/push/key");
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(data.public_key) });
  }
  await sendSubscription(subscription);
  return "on";
}

// On logout: this phone stops getting the user's alerts.
export async function disablePush() {
  const endpoint = await getValue("push_endpoint");
  const registration = await navigator.serviceWorker?.getRegistration();
  const subscription = await registration?.pushManager.getSubscription().catch(() => null);
  const target = endpoint || subscription?.endpoint;
  if (target) await api("/api/v1/push/subscriptions", { method: "DELETE", json: { endpoint: target } }).catch(() => {});
  await subscription?.unsubscribe().catch(() => {});
  await deleteValue("push_endpoint");
}
