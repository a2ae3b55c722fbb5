// Small page helpers shared by every screen. Page-specific behaviour lives with its page.
(function () {
  "use strict";
  let toastTimer = null;

  // Single-key shortcuts (WCAG 2.1.4): one switch for every page that has them, kept per
  // browser. Pages ask ``window.llShortcutsOn()`` before acting on a key; each page's
  // keyboard help carries a ``[data-keys-toggle]`` checkbox.
  const KEYS_OFF = "ll-keys-off";
  window.llShortcutsOn = function () {
    try { return localStorage.getItem(KEYS_OFF) !== "1"; } catch (e) { return true; }
  };
  document.querySelectorAll("[data-keys-toggle]").forEach(function (toggle) {
    toggle.checked = window.llShortcutsOn();
    toggle.addEventListener("change", function () {
      try { localStorage.setItem(KEYS_OFF, toggle.checked ? "0" : "1"); } catch (e) { /* private mode */ }
    });
  });

  // Show a toast; an optional action (e.g. Undo) posts with HTMX when clicked.
  function showToast(detail) {
    const toast = document.getElementById("toast");
    if (!toast) return;
    const message = typeof detail === "string" ? detail : detail.message || detail.value;
    toast.replaceChildren(document.createTextNode(message || ""));
    if (detail && detail.undo_url) {
      const undo = document.createElement("button");
      undo.type = "button";
      undo.textContent = "Undo";
      undo.addEventListener("click", function () {
        htmx.ajax("POST", detail.undo_url, { swap: "none" });
        toast.hidden = true;
      });
      toast.appendChild(undo);
    }
    toast.hidden = false;
    // Announce through the permanent live region (a region revealed at the moment its text
    // changes is not reliably read out).
    const live = document.getElementById("toast-live");
    if (live) {
      live.textContent = "";
      setTimeout(function () { live.textContent = message || ""; }, 60);
    }
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, (detail && detail.seconds ? detail.seconds : 4) * 1000);
  }
  window.llToast = showToast;
  document.body.addEventListener("toast", function (event) { showToast(event.detail); });
  // A failed HTMX request must never fail silently.
  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const text = status === 409 ? "Someone else already changed this. Reloading the list."
      : status === 403 ? "Your role is not allowed to do this."
      : status === 400 ? "Please check the input." : "Something went wrong (" + status + ").";
    showToast(text);
  });
})();
