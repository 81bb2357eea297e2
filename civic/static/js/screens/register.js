// Register with a phone number, or set a new password when it is forgotten:
// phone → a texted code → code + password → logged in, like a login (the token
// goes to session.js). Shown on the login screen, in place of its form.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { deviceId } from "../session.js";

const MOBILE = /^1[3-9]\d{9}$/;
const PASSWORD_MIN = 8;

const cleanPhone = (value) => value.replace(/[\s\-()]/g, "").replace(/^(\+86|0086)/, "");

// The server's refusal in the user's words.
export function explain(failure) {
  if (failure.isNetwork) return t("No connection. This needs the network; try again when you are online.");
  if (failure.status === 429) return t("Too many tries. Try again in {n} seconds.", { n: Math.ceil(failure.retryAfter || 60) });
  const messages = {
    invalid_phone: t("Enter a mainland China mobile number (11 digits, starting with 1)."),
    code_expired: t("This code has expired or was already used; ask for a new one."),
    code_attempts_exhausted: t("Too many wrong codes; ask for a new one."),
    password_too_short: t("The password needs at least 8 characters."),
    phone_registered: t("This phone number already has an account; log in instead."),
    sms_unavailable: t("The text message could not be sent; try again in a minute."),
  };
  if (failure.code === "invalid_code" && failure.error?.tries_left) return t("The code is wrong; {n} tries left.", { n: failure.error.tries_left });
  if (failure.code === "invalid_code" || (failure.code === "required" && failure.field === "code")) return t("Enter the 6-digit code from the text message.");
  return messages[failure.code] || failure.message;
}

// mode: "register" | "reset". done(tokenResponse) logs in; back() shows the login form again.
export function render(root, { mode, done, back }) {
  const register = mode === "register";
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const info = h("p.flash.flash-info", { role: "status", hidden: true });
  const phone = h("input", { name: "phone", type: "tel", inputmode: "numeric", autocomplete: "tel", maxlength: 20, required: true, placeholder: "138 1234 5678" });
  const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", minlength: PASSWORD_MIN, required: true });
  const name = register ? h("input", { name: "display_name", autocomplete: "nickname", maxlength: 100 }) : null;
  const send = h("button.button", { type: "button" }, t("Send code"));
  const submit = h("button.button.primary", { type: "submit" }, register ? t("Register") : t("Set the new password"));
  let countdown = null;

  const show = (el, text) => { el.textContent = text; el.hidden = !text; };

  function waitToResend(seconds) {
    clearInterval(countdown);
    let left = Math.ceil(seconds);
    const tick = () => {
      send.disabled = left > 0;
      send.textContent = left > 0 ? t("Send again in {n} s", { n: left }) : t("Send the code again");
      if (left-- <= 0) clearInterval(countdown);
    };
    tick();
    countdown = setInterval(tick, 1000);
  }

  async function sendCode() {
    show(error, "");
    const number = cleanPhone(phone.value);
    if (!MOBILE.test(number)) { show(error, t("Enter a mainland China mobile number (11 digits, starting with 1).")); phone.focus(); return; }
    send.disabled = true;
    try {
      const { data } = await api("/api/v1/auth/codes", { method: "POST", json: { phone: number, purpose: mode } });
      show(info, t("A text message is on its way to {phone}. Its code is valid for 5 minutes.", { phone: `${number.slice(0, 3)}****${number.slice(-4)}` }));
      waitToResend(data.resend_after || 60);
      code.focus();
    } catch (failure) {
      show(error, explain(failure));
      if (failure.status === 429) waitToResend(failure.retryAfter || 60);
      else send.disabled = false;
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    show(error, "");
    const number = cleanPhone(phone.value);
    if (!MOBILE.test(number)) { show(error, t("Enter a mainland China mobile number (11 digits, starting with 1).")); return; }
    if (password.value.length < PASSWORD_MIN) { show(error, t("The password needs at least 8 characters.")); return; }
    submit.disabled = true;
    try {
      const body = { phone: number, code: code.value.trim(), password: password.value };
      let data;
      if (register) {
        ({ data } = await api("/api/v1/auth/register", {
          method: "POST", json: { ...body, display_name: name.value.trim() || undefined, device_id: await deviceId() },
        }));
      } else {
        await api("/api/v1/auth/reset", { method: "POST", json: body });
        ({ data } = await api("/api/v1/auth/token", {
          method: "POST", json: { username: number, password: password.value, device_id: await deviceId() },
        }));
      }
      clearInterval(countdown);
      await done(data);
    } catch (failure) {
      show(error, explain(failure));
    } finally {
      submit.disabled = false;
    }
  }

  send.addEventListener("click", sendCode);
  root.replaceChildren(h("section.card.narrow.register", { dataset: { mode } },
    h("h1", {}, register ? t("Register with your phone") : t("Forgot your password?")),
    h("p.muted", {}, register ? t("We text a code to your phone to check that it is yours.") : t("We text a code to your phone; then choose a new password.")),
    h("form.stack", { onsubmit: onSubmit, novalidate: true },
      error, info,
      h("label", {}, t("Mobile number"), phone),
      send,
      h("label", {}, t("Code from the text message"), code),
      h("label", {}, register ? t("Password (at least 8 characters)") : t("New password (at least 8 characters)"), password),
      register ? h("label", {}, t("Your name for the city staff (optional)"), name) : null,
      submit,
    ),
    h("p", {}, h("button.link", { type: "button", onclick: () => { clearInterval(countdown); back(); } }, t("Back to log in"))),
  ));
  phone.focus();
  return () => clearInterval(countdown);
}
