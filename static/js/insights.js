// Insights: live critical alerts over Server-Sent Events, and inbox selection helpers.
(function () {
  "use strict";
  if (window.llInsights) return; // included by a page and by the layout: start once
  window.llInsights = true;

  function selectedCount() {
    const counter = document.getElementById("selected-count");
    if (!counter) return;
    counter.textContent = document.querySelectorAll("input[name=ids][form=bulk-form]:checked").length;
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "select-all") {
      document.querySelectorAll("input[name=ids][form=bulk-form]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    selectedCount();
  });
  document.body.addEventListener("htmx:afterSwap", selectedCount);

  const root = document.querySelector("[data-insight-stream]");
  if (!root || !window.EventSource) return;
  const live = document.getElementById("live-status");
  const source = new EventSource(root.dataset.insightStream);
  let highlight = null;

  function setLive(on) {
    if (!live) return;
    live.dataset.state = on ? "on" : "off";
    live.textContent = on ? "Live" : "Reconnecting…";
  }
  source.addEventListener("open", function () { setLive(true); });
  source.addEventListener("error", function () { setLive(false); });

  function pendingList() {
    const list = document.getElementById("insight-list");
    return list && list.dataset.pendingView === "true" ? list : null;
  }

  // Another browser closed it. If this browser is closing it right now, leave the row to
  // its own HTMX response (which shows the toast with Undo).
  function removeRow(id) {
    const row = document.getElementById("insight-" + id);
    if (row && pendingList() && !row.querySelector(".htmx-request, .htmx-swapping")) row.remove();
  }

  document.body.addEventListener("htmx:afterSettle", function () {
    if (highlight === null) return;
    const row = document.getElementById("insight-" + highlight);
    if (row) row.classList.add("is-new");
    highlight = null;
  });

  source.addEventListener("insight", function (event) {
    const data = JSON.parse(event.data);
    htmx.trigger(document.body, "insights-changed");
    if (data.kind === "created") {
      if (window.llToast) {
        window.llToast({ message: "New critical insight — " + data.subject + ": " + data.title, seconds: 8 });
      }
      if (pendingList() && !document.getElementById("insight-" + data.id)) {
        highlight = data.id;
        htmx.trigger(document.body, "insight-list-refresh");
      }
    } else if (data.kind === "resolved") {
      removeRow(data.id);
    } else if (data.kind === "bulk_resolved") {
      (data.ids || []).forEach(removeRow);
    } else if (data.kind === "reopened" && pendingList()) {
      htmx.trigger(document.body, "insight-list-refresh");
    }
  });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
