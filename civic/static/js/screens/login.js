// Log in on this device: a bearer token kept in IndexedDB. The outbox is kept
// across logins; it is sent as soon as its owner is logged in again.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { currentUser, deviceId, saveLogin } from "../session.js";
import * as register from "./register.js";

// A token from a login, a registration or a new password: this device is logged in.
// An account made with a one-time password (an administrator's import) first sets its own.
// oneTimePassword null: logged in by a QR code (screens/provision.js), whose holder never saw one.
export async function completeLogin(app, data, { root = null, oneTimePassword = null } = {}) {
  await saveLogin(data.token, data.user);
  if (data.must_change_password && root) {
    await choosePassword(root, oneTimePassword);
  }
  const me = await api("/api/v1/me").then((r) => r.data).catch(() => data.user);
  await saveLogin(data.token, me);
  app.user = me;
  app.navigate("#/");
  app.sync();
  app.prefetch();
  app.watchTasks();
  app.renewPush();
}

// The app started again (a reload, a restart) while the one-time password is still to be
// replaced: the screen asks for it too, as this device no longer knows it (left empty for a
// phone logged in by its QR code, which never had one).
export const ASK_FOR_IT = Symbol("ask for the one-time password");

export function requirePassword(root) {
  return choosePassword(root, ASK_FOR_IT);
}

// Resolves once the server has the user's own password in place of the one-time one.
function choosePassword(root, oneTimePassword) {
  return new Promise((resolve) => {
    const error = h("p.flash.flash-error", { role: "alert", hidden: true });
    const fresh = h("input", { name: "new", type: "password", autocomplete: "new-password", minlength: 8, required: true });
    const asking = oneTimePassword === ASK_FOR_IT;
    const old = h("input", { name: "old", type: "password", autocomplete: "current-password" });
    const submit = h("button.button.primary", { type: "submit" }, t("Save the password"));
    async function onSubmit(event) {
      event.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      try {
        const known = asking ? old.value : oneTimePassword;
        const json = known ? { old: known, new: fresh.value } : { new: fresh.value };
        await api("/api/v1/me/password", { method: "POST", json });
        resolve();
      } catch (failure) {
        error.hidden = false;
        error.textContent = failure.isNetwork ? t("No connection. Logging in needs the network; your saved reports are safe.")
          : failure.code === "password_too_short" ? t("The password needs at least 8 characters.")
          : failure.code === "same_password" ? t("Choose a password other than the present one.")
          : failure.code === "wrong_password" ? t("Enter the one-time password you were given.")
          : register.explain(failure);
      } finally {
        submit.disabled = false;
      }
    }
    root.replaceChildren(h("section.card.narrow", {},
      h("h1", {}, t("Your password")),
      h("p", {}, oneTimePassword === null ? t("This phone is logged in by its QR code. Choose your own password to go on.")
        : t("You logged in with a one-time password. Choose your own to go on.")),
      h("form.stack", { onsubmit: onSubmit, novalidate: true },
        error,
        asking ? h("label", {}, t("The one-time password (empty if this phone was logged in by its QR code)"), old) : null,
        h("label", {}, t("New password (at least 8 characters)"), fresh),
        submit,
      ),
    ));
    (asking ? old : fresh).focus();
  });
}

export async function render(root, app) {
  const previous = await currentUser();
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", value: previous?.username || "" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  // Asked for only after many wrong passwords for this account from anywhere: a texted code.
  const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6 });
  const codeLabel = h("label", { hidden: true }, t("Code from the text message"), code);
  const submit = h("button.button.primary", { type: "submit" }, t("Log in"));

  async function onSubmit(event) {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      await app.loggingOut;
      const { data } = await api("/api/v1/auth/token", {
        method: "POST", json: { username: username.value.trim(), password: password.value, device_id: await deviceId(),
                                ...(codeLabel.hidden ? {} : { code: code.value.trim() }) },
      });
      await completeLogin(app, data, { root, oneTimePassword: password.value });
    } catch (failure) {
      error.hidden = false;
      if (failure.code === "second_factor_required") {
        codeLabel.hidden = false;
        code.focus();
        error.textContent = t("Many wrong passwords were tried for this account. We texted a code to {phone}: enter it with your password.",
          { phone: failure.error.phone || "" });
        return;
      }
      error.textContent = failure.isNetwork
        ? t("No connection. Logging in needs the network; your saved reports are safe.")
        : failure.status === 401 ? t("Wrong username or password.") : register.explain(failure);
    } finally {
      submit.disabled = false;
    }
  }

  root.append(h("section.card.narrow", {},
    h("h1", {}, t("Log in")),
    previous ? h("p.muted", {}, t("Items waiting on this phone are sent after you log in.")) : null,
    h("form.stack", { onsubmit: onSubmit, novalidate: true },
      error,
      h("label", {}, t("Username or phone"), username),
      h("label", {}, t("Password"), password),
      codeLabel,
      submit,
    ),
    h("p.account-links", {},
      h("button.link", { type: "button", onclick: () => phoneForm("register") }, t("Register with your phone")),
      " · ",
      h("button.link", { type: "button", onclick: () => phoneForm("reset") }, t("Forgot your password?")),
    ),
  ));
  (previous ? password : username).focus();

  // Residents register (or set a new password) with a texted code, on this screen.
  let stopForm = null;
  function phoneForm(mode) {
    stopForm = register.render(root, {
      mode,
      done: async (data) => { await app.loggingOut; await completeLogin(app, data); },
      back: () => { root.replaceChildren(); render(root, app); },
    });
  }
  return () => stopForm?.();
}
