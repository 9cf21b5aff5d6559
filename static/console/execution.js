// An execution's page: htmx replaces the live part every second while the
// run goes on; keep the steps a reader opened open across those swaps.
(function () {
  "use strict";
  let open = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "execution-live") return;
    open = Array.from(event.detail.target.querySelectorAll("details[open][id]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    open.forEach(function (id) {
      const details = document.getElementById(id);
      if (details) details.open = true;
    });
    open = [];
  });
})();
