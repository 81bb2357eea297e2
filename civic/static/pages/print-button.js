// The daily report's Print button (the page's CSP allows no inline script).
for (const button of document.querySelectorAll('[data-print]')) {
  button.addEventListener('click', () => window.print());
}
