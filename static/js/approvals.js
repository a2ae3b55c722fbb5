// Approval queue: keyboard (j/k/a/r/x/o/?), bulk selection, and swapping 400/409 answers
// into the item so the manager sees why (a reason is missing, someone decided first).
(function () {
  "use strict";
  const list = document.getElementById("queue-list");
  const help = document.getElementById("kbd-help");
  const bulkForm = document.getElementById("bulk-form");
  let current = -1;

  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "400", swap: true, error: false },
      { code: "409", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  function items() {
    return list ? Array.from(list.querySelectorAll(".q-item[data-action-id]")) : [];
  }

  // `quiet` marks the card without moving focus or scrolling: on load the page header and
  // the filters stay in view, and a screen reader starts at the top of the page.
  function select(index, quiet) {
    const all = items();
    if (!all.length) { current = -1; return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (item, i) { item.classList.toggle("selected", i === current); });
    if (quiet) return;
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function selected() {
    const all = items();
    return current >= 0 && current < all.length ? all[current] : null;
  }

  function openReject(item) {
    const details = item.querySelector("details.q-reject");
    if (!details) return;
    details.open = true;
    const reason = details.querySelector("textarea");
    if (reason) reason.focus();
  }

  function refreshBulk() {
    if (!bulkForm) return;
    const checked = document.querySelectorAll("input[name=ids][form=bulk-form]:checked").length;
    const button = bulkForm.querySelector("[data-bulk-button]");
    const count = bulkForm.querySelector("[data-bulk-count]");
    button.disabled = checked === 0;
    count.textContent = checked ? "(" + checked + ")" : "";
    bulkForm.setAttribute("hx-confirm", "Approve " + checked + " selected action" + (checked === 1 ? "" : "s") + "? The agent may carry them out at once.");
  }

  function showEmptyStateIfDone() {
    const empty = document.querySelector(".q-empty");
    if (empty && list && !list.querySelector(".q-item")) empty.hidden = false;
  }

  function toggleHelp() {
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  // Single-key shortcuts can be turned off in the help dialog (app.js keeps the switch).
  const keysOn = window.llShortcutsOn;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!keysOn() && !(event.target && event.target.name === "reason")) return;
    const target = event.target;
    const typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT" || target.isContentEditable);
    if (typing) {
      if (target.tagName === "TEXTAREA" && target.name === "reason") {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          target.form.requestSubmit();
        } else if (event.key === "Escape") {
          const details = target.closest("details");
          if (details) details.open = false;
          const item = target.closest(".q-item");
          if (item) item.focus();
        }
      }
      return;
    }
    if (help && help.open && event.key !== "?") return;
    const item = selected();
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current < 0 ? 0 : current - 1); break;
      case "a":
        if (item) { const approve = item.querySelector("[data-approve]"); if (approve) approve.click(); }
        break;
      case "r": if (item) { event.preventDefault(); openReject(item); } break;
      case "x":
        if (item) { const box = item.querySelector("input[name=ids]"); if (box) { box.checked = !box.checked; refreshBulk(); } }
        break;
      case "o":
        if (item) { const link = item.querySelector(".q-account"); if (link) window.location = link.href; }
        break;
      case "?": toggleHelp(); break;
      default: return;
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-kbd-help]")) toggleHelp();
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.closest(".q-item").remove();
      select(current);
      showEmptyStateIfDone();
    }
    const item = event.target.closest(".q-item[data-action-id]");
    if (item && !event.target.closest("a, button, summary, input, textarea")) select(items().indexOf(item));
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      document.querySelectorAll("input[name=ids][form=bulk-form]").forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches("input[name=ids], [data-select-all]")) refreshBulk();
  });

  // After a decision the item is gone (or replaced): keep the selection at the same place.
  // A removed element's events never reach the body, so watch the list itself.
  if (list) {
    new MutationObserver(function () {
      refreshBulk();
      showEmptyStateIfDone();
      if (current >= 0 && !list.querySelector(".q-item.selected")) select(current);
    }).observe(list, { childList: true });
  }

  // The undo button of the confirmation banner goes away when the undo window closes.
  const undoBanner = document.querySelector("[data-undo-banner]");
  if (undoBanner) {
    const undoForm = undoBanner.querySelector("[data-undo-form]");
    if (undoForm) setTimeout(function () { undoForm.remove(); }, Number(undoBanner.dataset.seconds || 0) * 1000);
  }

  refreshBulk();
  if (items().length) select(0, true);
})();
