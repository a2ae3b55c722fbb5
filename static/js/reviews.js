// Review page keyboard: 1-9 pick the option of the current rubric (then move to the next
// rubric), j/k move between rubrics, c opens the correction (prefilled with the original),
// Esc leaves the text box, n or Enter submits and loads the next item, s skips.
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  if (!form) return;
  const rubrics = Array.from(form.querySelectorAll("fieldset.rubric"));

  function currentIndex() {
    return Math.max(0, rubrics.findIndex(function (el) { return el.classList.contains("is-current"); }));
  }

  function setCurrent(index) {
    if (!rubrics.length) return;
    const bounded = Math.max(0, Math.min(rubrics.length - 1, index));
    rubrics.forEach(function (el, i) { el.classList.toggle("is-current", i === bounded); });
    rubrics[bounded].scrollIntoView({ block: "nearest" });
  }

  form.addEventListener("focusin", function (event) {
    const fieldset = event.target.closest("fieldset.rubric");
    if (fieldset) setCurrent(rubrics.indexOf(fieldset));
  });

  function click(id) {
    const button = document.getElementById(id);
    if (button) button.click();
  }

  function openCorrection() {
    const details = form.querySelector("details.correction");
    const box = document.getElementById("id_correction");
    if (!details || !box) return;
    details.open = true;
    if (!box.value) box.value = box.getAttribute("data-original") || "";
    box.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.matches("textarea, input[type=text], input:not([type]), select")) {
      if (event.key === "Escape") { target.blur(); rubrics.length && setCurrent(currentIndex()); event.preventDefault(); }
      return;
    }
    if (!window.llShortcutsOn()) return;
    if (/^[1-9]$/.test(event.key)) {
      const fieldset = rubrics[currentIndex()];
      const radio = fieldset && fieldset.querySelector('input[type=radio][data-key="' + event.key + '"]');
      if (radio) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        setCurrent(currentIndex() + 1);
        event.preventDefault();
      }
      return;
    }
    switch (event.key) {
      case "n": case "Enter": click("submit-review"); event.preventDefault(); break;
      case "s": click("skip-review"); event.preventDefault(); break;
      case "c": openCorrection(); event.preventDefault(); break;
      case "j": setCurrent(currentIndex() + 1); event.preventDefault(); break;
      case "k": setCurrent(currentIndex() - 1); event.preventDefault(); break;
    }
  });
})();
