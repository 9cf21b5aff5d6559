// Agentry console: the knowledge tab's uploads.
//
// Each chosen file goes to the API's upload endpoint (POST
// /api/v1/agents/{agent}/knowledge, the session cookie plus the CSRF header)
// in its own XMLHttpRequest, so each gets a progress bar; when one is
// stored, the documents table is fetched again and, while any document is
// processing, keeps polling its status (htmx).  Without JavaScript the form
// posts to the page, which calls the same service.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  const list = document.getElementById("uploads");
  const input = form.querySelector("input[type=file]");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let counter = 0;

  function refreshDocuments() {
    if (window.htmx) {
      window.htmx.ajax("GET", form.dataset.statusUrl, {target: "#documents", swap: "outerHTML"});
    }
  }

  function row(file) {
    counter += 1;
    const item = document.createElement("li");
    item.className = "upload";
    const label = document.createElement("label");
    label.htmlFor = `upload-${counter}`;
    label.textContent = file.name;
    const bar = document.createElement("progress");
    bar.id = `upload-${counter}`;
    bar.max = 100;
    bar.value = 0;
    const state = document.createElement("span");
    state.className = "upload-state";
    state.textContent = "waiting";
    item.append(label, bar, state);
    list.appendChild(item);
    return {item, bar, state};
  }

  function problemText(xhr) {
    try {
      const problem = JSON.parse(xhr.responseText);
      const fields = Object.values(problem.errors || {}).flat();
      return problem.detail || fields.join(" ") || `HTTP ${xhr.status}`;
    } catch (error) {
      return `HTTP ${xhr.status}`;
    }
  }

  function upload(file, fields) {
    const view = row(file);
    const body = new FormData();
    body.append("file", file);
    for (const [name, value] of Object.entries(fields)) {
      if (value) {
        body.append(name, value);
      }
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.apiUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        view.bar.value = Math.round((event.loaded / event.total) * 100);
        view.state.textContent = `${view.bar.value}%`;
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 201) {
        view.bar.value = 100;
        view.item.classList.add("upload--done");
        view.state.textContent = "uploaded; processing";
      } else {
        view.item.classList.add("upload--failed");
        view.state.textContent = `failed: ${problemText(xhr)}`;
      }
      refreshDocuments();
    });
    xhr.addEventListener("error", function () {
      view.item.classList.add("upload--failed");
      view.state.textContent = "failed: the connection was lost";
    });
    view.state.textContent = "0%";
    xhr.send(body);
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) {
      return; // the server says the field is required, beside it
    }
    event.preventDefault();
    const fields = {tags: form.elements.tags.value, description: form.elements.description.value};
    for (const file of input.files) {
      upload(file, fields);
    }
    form.reset();
  });
})();
