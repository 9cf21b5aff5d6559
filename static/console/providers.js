// The provider form's "Add a model" button: one more model row, from the
// formset's empty form, with the management form's count raised to match.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-add-model-row]");
    if (!button) {
      return;
    }
    const total = document.getElementById("id_models-TOTAL_FORMS");
    const template = document.getElementById("model-row-template");
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/\(row new\)/g, "(row " + (index + 1) + ")");
    document.getElementById("model-rows").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    document.getElementById("id_models-" + index + "-name").focus();
  });
})();
