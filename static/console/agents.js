// Agents configuration form: the model box suggests the chosen provider's
// models, and "Add …" buttons add formset rows.  Without it the form still
// works (one blank row per list; any model name can be typed).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    const select = event.target.closest("[data-provider-select]");
    if (!select) return;
    const pair = select.closest("[data-model-pair]");
    const input = pair && pair.querySelector("[data-model-input]");
    if (input) input.setAttribute("list", "models-" + select.value);
  });
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-add-row]");
    if (!button) return;
    const prefix = button.dataset.addRow;
    const rows = document.getElementById(prefix + "-rows");
    const total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    const template = rows.querySelector("template[data-row-template]");
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/ new<\/legend>/, " " + (index + 1) + "</legend>");
    rows.querySelector("[data-row-list]").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    const first = rows.querySelector("[data-row-list]").lastElementChild.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });
})();
