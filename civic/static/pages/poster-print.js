// The posters' print page: a button for the browser's print dialog (Ctrl+P works too).
document.getElementById("print-button")?.addEventListener("click", () => window.print());
