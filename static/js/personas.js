// Persona editor: show each slider's number as it moves (HTMX re-renders the preview).
(function () {
  "use strict";
  document.addEventListener("input", function (event) {
    const slider = event.target;
    if (!slider.matches || !slider.matches("input[type=range][data-output]")) return;
    const output = document.getElementById(slider.dataset.output);
    if (output) output.textContent = slider.value;
  });
})();
