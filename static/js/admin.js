// Django admin accessibility fixes, for what Django's own widgets leave unnamed.
(function () {
  "use strict";
  function fix() {
    // filter_horizontal (SelectFilter2.js, run on window load) puts aria-label on a bare
    // <span>, which ARIA prohibits: name it as an image.
    document.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
    // A split date/time field shows "Date:" and "Time:" as bare text beside unlabelled
    // inputs: name each input after its field and its part.
    document.querySelectorAll("p.datetime").forEach(function (field) {
      const row = field.closest(".form-row, fieldset, div");
      const label = row && row.querySelector("label");
      const name = label ? label.textContent.replace(/:\s*$/, "").trim() : "";
      let part = "";
      field.childNodes.forEach(function (node) {
        if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()) part = node.textContent.trim().replace(/:$/, "");
        if (node.nodeName === "INPUT" && !node.hasAttribute("aria-label")) node.setAttribute("aria-label", (name + " " + part.toLowerCase()).trim());
      });
    });
  }
  if (document.readyState !== "loading") fix(); else document.addEventListener("DOMContentLoaded", fix);
  window.addEventListener("load", function () { setTimeout(fix, 0); });
})();
