// 惯用语: choosing a reply template puts its text (filled from the case on the
// server) into the step's note, to be edited before it is sent. Without
// JavaScript the note is typed as before.
for (const picker of document.querySelectorAll("select[data-reply-for]")) {
  picker.addEventListener("change", () => {
    const chosen = picker.selectedOptions[0];
    const note = picker.closest("form")?.querySelector("textarea[name=note]");
    if (!chosen?.dataset.text || !note) return;
    note.value = chosen.dataset.text;
    note.focus();
    note.setSelectionRange(note.value.length, note.value.length);
  });
}
