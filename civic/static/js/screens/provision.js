// A phone opened from an administrator's printed QR code (PUBLIC_BASE_URL/field/#code=…):
// the code is taken off the address bar at once (a fragment never reaches a server
// or a Referer; this keeps it out of the history too) and exchanged for a token,
// once. An account with a one-time password then chooses its own.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { deviceId } from "../session.js";
import { completeLogin } from "./login.js";

const CODE = /^#code=([A-Za-z0-9_-]{8,64})$/;

// The code of the URL this page was opened with, or null; the address keeps no trace of it.
export function takeCode() {
  const match = location.hash.match(CODE);
  if (!location.hash.startsWith("#code=")) return null;
  history.replaceState(null, "", `${location.pathname}${location.search}#/login`);
  return match ? match[1] : "";
}

function deviceName() {
  const platform = navigator.userAgentData?.platform || navigator.platform || "";
  return `${t("Phone set up by QR code")}${platform ? ` (${platform})` : ""}`.slice(0, 100);
}

// Resolves true once this phone is logged in with the code, false if the code was refused.
export async function redeem(root, app, code) {
  const status = h("p", { role: "status" }, t("Logging this phone in…"));
  root.replaceChildren(h("section.card.narrow", { "data-provision": "1" }, h("h1", {}, t("Phone code")), status));
  try {
    if (!code) throw Object.assign(new Error("bad code"), { code: "code_invalid" });
    await app.loggingOut;
    const { data } = await api("/api/v1/provision", {
      method: "POST", json: { code, device_id: await deviceId(), device_name: deviceName() },
    });
    await completeLogin(app, data, { root, oneTimePassword: null });
    return true;
  } catch (failure) {
    status.className = "flash flash-error";
    status.setAttribute("role", "alert");
    status.textContent = failure.isNetwork
      ? t("No connection. Open the code's link again once the phone is online.")
      : failure.status === 429 ? t("Too many tries from this network; wait a while and scan again.")
      : t("This phone code is unknown, expired or used already. Ask your administrator for a new one, or log in with your password.");
    root.firstChild.append(h("p", {}, h("a.button", { href: "#/login", onclick: () => app.navigate("#/login") }, t("Log in"))));
    return false;
  }
}
