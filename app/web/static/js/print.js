// The consent receipt's "Print this receipt" button: shown only when this script runs (the
// button is hidden without JavaScript, and the browser's own print still works then).
for (const button of document.querySelectorAll('[data-app-print]')) {
  button.hidden = false
  button.addEventListener('click', () => window.print())
}
