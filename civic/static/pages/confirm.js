// Forms with data-confirm ask before they are sent (deactivating someone, say):
// the question is the server's, in the page's language.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// Forms with data-once send once: a second click while the server works (an import
// of a thousand people takes a minute) would only meet the first.
for (const form of document.querySelectorAll("form[data-once]")) {
  form.addEventListener("submit", () => {
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = true;
      if (form.dataset.once) button.textContent = form.dataset.once;
    }
  });
}
