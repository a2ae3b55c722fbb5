// Persona editor: show each slider's number as it moves (HTMX re-renders the preview).
(function () {
  "use strict";
  document.addEventListener("input", function (event) {
    const slider = event.target;
    if (!slider.matches || !slider.matches("input[type=range][data-output]")) return;
    const output = document.getElementById(slider.dataset.output);
    if (output) output.textContent = slider.value;
    // Screen readers hear where the setting sits, in the words of the page ("30: fairly formal").
    const ends = (slider.dataset.ends || ",").split(",");
    const value = Number(slider.value);
    const side = value < 50 ? ends[0] : ends[1];
    const words = value >= 41 && value <= 59 ? "balanced"
      : (value <= 20 || value >= 80 ? "very " : "fairly ") + side.toLowerCase();
    slider.setAttribute("aria-valuetext", value + ": " + words);
  });
})();
