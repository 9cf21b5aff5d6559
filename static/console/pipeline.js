// Pipeline tab: when htmx shows another node's configuration, mark that node
// in the graph and move focus to the panel's heading.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    const config = event.detail.requestConfig;
    const trigger = config && config.elt;
    if (!trigger || trigger.getAttribute("hx-target") !== "#node-panel") return;
    const panel = document.getElementById("node-panel");
    if (!panel) return;
    const chosen = panel.dataset.selected;
    document.querySelectorAll(".pipeline-graph .node").forEach(function (node) {
      node.classList.toggle("node--selected", node.dataset.node === chosen);
    });
    const heading = document.getElementById("node-panel-heading");
    if (heading) heading.focus();
  });
})();
