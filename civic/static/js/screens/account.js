// My account (#/account): download everything the city holds about me, and
// delete my account. Deleting keeps my reports for the city, without my name;
// my points and unused reward codes are gone for good.
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { t } from "../i18n.js";
import * as outbox from "../outbox.js";

// The export needs the bearer token, so a plain link will not do: fetch it and
// hand the browser a file.
async function download(button) {
  button.disabled = true;
  try {
    const { data, headers } = await api("/api/v1/me/export", { timeout: 60000 });
    const name = /filename="([^"]+)"/.exec(headers.get("Content-Disposition") || "")?.[1] || "civic-grid-my-data.json";
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (failure) {
    toast(failure.isNetwork ? t("No connection. This needs the network; try again when you are online.") : failure.message);
  } finally {
    button.disabled = false;
  }
}

function deleteForm(app) {
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button.button.danger", { type: "submit" }, t("Delete my account"));

  async function onSubmit(event) {
    event.preventDefault();
    error.hidden = true;
    const { pending } = await outbox.summary();
    const question = pending
      ? t("{n} items on this phone are not sent yet and never will be. Delete your account for good?", { n: pending })
      : t("Delete your account for good? This cannot be undone.");
    if (!confirm(question)) return;
    submit.disabled = true;
    try {
      await api("/api/v1/me", { method: "DELETE", json: { password: password.value } });
      toast(t("Your account has been deleted."));
      await app.logOut(); // the server forgot this phone's token and alerts; the phone forgets them too
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.isNetwork ? t("No connection. This needs the network; try again when you are online.")
        : failure.code === "wrong_password" ? t("The password is wrong.") : failure.message;
      submit.disabled = false;
    }
  }

  return h("details.settings.delete-account", {},
    h("summary", {}, t("Delete my account")),
    h("form.stack", { onsubmit: onSubmit, novalidate: true },
      h("p", {}, t("Your reports stay with the city, without your name or phone number.")),
      h("p", {}, h("strong", {}, t("Your points and any unused reward codes are lost, and cannot be given back."))),
      error,
      h("label", {}, t("Your password, to confirm"), password),
      submit,
    ));
}

export async function render(root, app) {
  const user = app.user;
  const downloadButton = h("button.button", { type: "button", onclick: (event) => download(event.currentTarget) }, t("Download my data"));
  root.append(h("section.card.account", {},
    h("h1", {}, t("My account")),
    h("p", {}, user.display_name || user.username),
    h("p.muted", {}, t("A copy of everything the city holds about you: your account, reports, ratings, points and rewards.")),
    downloadButton,
  ));
  if (user.role === "resident") root.append(deleteForm(app));
  else root.append(h("p.muted", {}, t("Staff accounts are managed by the administrators.")));
}
