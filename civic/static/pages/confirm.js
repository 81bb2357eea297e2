// Forms with data-confirm ask before they are sent (deactivating someone, say):
// the question is the server's, in the page's language.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
