// The run panel: once a run has started (the panel holds
// [data-run-events]), follow the execution's Server-Sent Events and show
// each step as it starts and finishes, the tokens as they stream, then the
// output.  The stream replays stored events from the start, so nothing
// that happened before the page connected is missed.  When the run ends the
// panel dispatches "run-finished" (it bubbles to the body), so the parts of
// the page that list runs can ask for themselves again.
(function () {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "";
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
  }

  function follow(live) {
    if (live.dataset.following) return;
    live.dataset.following = "1";
    const list = live.querySelector("[data-run-steps]");
    const status = live.querySelector("[data-run-status]");
    const steps = {};      // step id -> its list item
    const byNode = {};     // node id -> the item of its latest running step (for deltas)

    function setStatus(value) {
      status.textContent = value.replace("_", " ");
      status.className = "badge badge--" + value;
    }

    function item(stepId, nodeId, type) {
      let li = steps[stepId];
      if (!li) {
        li = el("li", "run-step");
        li.dataset.nodeId = nodeId;
        const head = el("div", "run-step-head");
        head.append(el("code", "", nodeId), el("span", "run-step-meta", type || ""),
                    el("span", "badge", "running"), el("span", "run-step-meta run-step-time", ""));
        li.append(head);
        list.append(li);
        steps[stepId] = li;
      }
      return li;
    }

    function setStep(li, stepStatus, text) {
      li.dataset.status = stepStatus;
      const badge = li.querySelector(".badge");
      badge.textContent = stepStatus;
      badge.className = "badge badge--" + stepStatus;
      if (text !== undefined && text !== null && text !== "") {
        let pre = li.querySelector("pre");
        if (!pre) { pre = el("pre"); pre.tabIndex = 0; li.append(pre); }
        pre.textContent = text;
      }
    }

    const source = new EventSource(live.dataset.runEvents);
    source.addEventListener("status", function (event) {
      setStatus(JSON.parse(event.data).status);
    });
    source.addEventListener("node_started", function (event) {
      const data = JSON.parse(event.data);
      const li = item(data.step_id, data.node_id, data.type);
      setStep(li, "running");
      byNode[data.node_id] = li;
    });
    source.addEventListener("delta", function (event) {
      const data = JSON.parse(event.data);
      const li = byNode[data.node_id];
      if (!li) return;
      let pre = li.querySelector("pre");
      if (!pre) { pre = el("pre"); pre.tabIndex = 0; li.append(pre); }
      pre.textContent += data.content;
    });
    source.addEventListener("step", function (event) {
      const data = JSON.parse(event.data);
      const li = item(data.id, data.node_id, data.type);
      setStep(li, data.status || "succeeded", data.content);
      li.querySelector(".run-step-time").textContent =
        [duration(data.duration_ms), data.tokens_used ? data.tokens_used + " tokens" : ""].filter(Boolean).join(" · ");
    });
    source.addEventListener("done", function (event) {
      source.close();
      const result = JSON.parse(event.data);
      setStatus(result.status);
      const box = live.querySelector("[data-run-result]");
      const output = result.status === "succeeded" ? result.output : (result.error || {}).message || result.status;
      box.querySelector("[data-run-output]").textContent =
        typeof output === "string" ? output : JSON.stringify(output, null, 2);
      box.querySelector("[data-run-totals]").textContent =
        [duration(result.duration_ms), result.tokens_used + " tokens", "$" + Number(result.cost_usd).toFixed(6)].join(" · ");
      box.hidden = false;
      live.dispatchEvent(new CustomEvent("run-finished", {
        bubbles: true, detail: {executionId: result.execution_id, status: result.status},
      }));
    });
    source.onerror = function () {
      // EventSource reconnects by itself (with Last-Event-ID); say so only when it gives up.
      if (source.readyState === EventSource.CLOSED) setStatus("disconnected");
    };
  }

  function scan(root) {
    (root || document).querySelectorAll("[data-run-events]").forEach(follow);
  }

  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
