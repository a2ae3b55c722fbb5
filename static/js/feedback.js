// Feedback pages. Review feed keyboard: j/k move between outputs, - 0 + rate the current
// one, d opens the detailed form. Keeps focus on the chosen rating after HTMX swaps the
// partial, and lets a 400 (a form with its errors) be swapped in, the learnings page's
// "write a learning" form too. Pages that include
// templates/feedback/_rating.html load this file too.
(function () {
  "use strict";
  const KEYS = { "-": "-1", "0": "0", "+": "1", "=": "1" };

  function items() { return Array.from(document.querySelectorAll(".feed-item")); }
  function current() { return document.activeElement && document.activeElement.closest(".feed-item"); }

  function move(step) {
    const list = items();
    if (!list.length) return;
    const index = list.indexOf(current());
    const next = list[Math.max(0, Math.min(list.length - 1, index + step))] || list[0];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (target.matches("input, select, textarea")) return;
    if (!window.llShortcutsOn()) return;
    if (event.key === "j") { move(1); event.preventDefault(); return; }
    if (event.key === "k") { move(-1); event.preventDefault(); return; }
    const item = current();
    if (!item) return;
    if (event.key in KEYS) {
      const button = item.querySelector('.rating button[value="' + KEYS[event.key] + '"]');
      if (button) { button.click(); event.preventDefault(); }
    } else if (event.key === "d") {
      const link = item.querySelector("a[href*='/feedback/outcomes/']");
      if (link) { link.click(); event.preventDefault(); }
    }
  });

  // A 400 from a feedback form carries the form with its errors: show it, don't just toast.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const elt = event.detail.elt;
    if (event.detail.xhr.status !== 400 || !elt || !elt.closest) return;
    if (elt.closest(".rating-form, #detailed-form, #create-form")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const source = event.detail.elt;
    const id = source && source.getAttribute && source.getAttribute("data-outcome");
    if (!id || !source.classList.contains("rating-form")) return;
    const form = document.querySelector('.rating-form[data-outcome="' + id + '"]');
    if (!form) return;
    const item = form.closest(".feed-item");
    const pressed = form.querySelector('button[aria-pressed="true"]');
    if (item) {
      item.classList.add("is-rated");
      const pending = item.querySelector(".badge-warn");
      if (pending) pending.remove();
    }
    if (pressed && document.activeElement === document.body) pressed.focus();
  });
})();
