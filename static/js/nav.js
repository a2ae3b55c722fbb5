// Loaded in <head> without defer: marks the page as scripted before it paints (so the menu
// starts collapsed on phones, with no flash), then wires the menu button. Without
// JavaScript the navigation is simply shown in full.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest(".nav-toggle");
    if (!toggle) return;
    const bar = toggle.closest(".topbar");
    const open = !bar.classList.contains("open");
    bar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const bar = document.querySelector(".topbar.open");
    if (!bar) return;
    bar.classList.remove("open");
    const toggle = bar.querySelector(".nav-toggle");
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  });
})();
