// Agentry console: a thread's page, live.
//
// The page renders the stored messages and, in #chat-state, the event seq to
// follow the thread from (followSeq) and the user messages whose turns it
// already shows answered.  This script opens the thread's WebSocket with
// ?last_event_id=followSeq: a turn still streaming is replayed from its first
// event, then continues live; events of answered turns are skipped.  After a
// dropped connection it reconnects from the last seq it received, so nothing
// is lost or shown twice.  Sending and stopping use the same socket
// ({"type": "message"} / {"type": "cancel"}); without it the forms post.
// A turn that changed the thread (a /personality command, a first message
// that named it) ends with `thread` in its event: the title and the
// personality badge change in place.
(function () {
  "use strict";
  const root = document.getElementById("chat");
  if (!root) {
    return;
  }
  const state = JSON.parse(document.getElementById("chat-state").textContent);
  const log = document.getElementById("chat-log");
  const statusLine = document.getElementById("chat-status");
  const errors = document.getElementById("chat-errors");
  const composer = document.getElementById("composer");
  const stopButton = document.getElementById("stop-button");
  const answered = new Set(state.answered);
  const REFUSED = {4401: "You are signed out: reload the page to sign in again.",
                   4403: "You may not read this thread.", 4404: "This thread no longer exists."};
  let lastSeq = state.followSeq;
  let socket = null;
  let attempts = 0;

  function template(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function setStatus(text) {
    statusLine.textContent = text;
  }

  function showError(text) {
    const line = document.createElement("p");
    line.className = "message message--error";
    line.textContent = text;
    errors.replaceChildren(line);
  }

  function streaming() {
    return log.querySelector("[data-streaming]") !== null;
  }

  function updateStop() {
    if (stopButton) {
      stopButton.hidden = !streaming();
    }
  }

  // --- the log ------------------------------------------------------------------------------

  function turnFor(id, message) {
    let turn = log.querySelector(`.chat-turn[data-turn="${CSS.escape(id)}"]`);
    const firstQueued = log.querySelector("[data-queued-turn]");
    if (turn === null) {
      turn = template("tpl-user");
      turn.dataset.turn = id;
      turn.querySelector(".msg-body").textContent = message ? message.content : "";
    } else if (turn.hasAttribute("data-queued-turn")) {
      turn.removeAttribute("data-queued-turn");
      const badge = turn.querySelector("[data-role=queued]");
      if (badge) {
        badge.remove();
      }
    } else {
      return turn;
    }
    const empty = log.querySelector(".chat-empty");
    if (empty) {
      empty.remove();
    }
    log.insertBefore(turn, firstQueued && firstQueued !== turn ? firstQueued : null);
    return turn;
  }

  function answerFor(id) {
    const turn = turnFor(id, null);
    let answer = turn.querySelector(".msg--assistant");
    if (answer === null) {
      answer = template("tpl-answer");
      turn.appendChild(answer);
    }
    return answer;
  }

  function toolCard(answer, id) {
    let card = answer.querySelector(`.tool-card[data-tool-id="${CSS.escape(id)}"]`);
    if (card === null) {
      card = template("tpl-tool");
      card.dataset.toolId = id;
      answer.querySelector("[data-role=tools]").appendChild(card);
    }
    return card;
  }

  function pretty(value) {
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch (error) {
        return value;
      }
    }
    return JSON.stringify(value, null, 2);
  }

  function setBadge(answer, status) {
    const badge = answer.querySelector("[data-role=status]");
    if (status === "completed") {
      if (badge) {
        badge.remove();
      }
      return;
    }
    badge.textContent = status;
    badge.className = `badge badge--${status}`;
  }

  function meta(answer, data) {
    const line = answer.querySelector("[data-role=meta]");
    line.replaceChildren();
    function add(text, href) {
      const part = document.createElement(href ? "a" : "span");
      part.textContent = text;
      if (href) {
        part.href = href;
      }
      line.appendChild(part);
    }
    if (data.command) {
      add("Answered by the server, not the model");
      return;
    }
    const usage = data.usage || {};
    add(`${usage.total_tokens || 0} tokens (${usage.prompt_tokens || 0} in, ${usage.completion_tokens || 0} out)`);
    add(`$${Number(data.cost_usd || 0).toFixed(6)}`);
    if (data.ttft_ms !== null && data.ttft_ms !== undefined) {
      add(`first token ${data.ttft_ms} ms`);
    }
    if (data.latency_ms) {
      add(`${data.latency_ms} ms in all`);
    }
    if (data.model) {
      add(data.model);
    }
    if (data.execution_id) {
      add("execution", root.dataset.executionUrl.replace("00000000-0000-0000-0000-000000000000", data.execution_id));
    }
  }

  function showThread(changed) {
    if (!changed) {
      return;
    }
    if (typeof changed.title === "string") {
      const heading = document.getElementById("tab-heading");
      const old = heading.textContent;
      if (document.title.startsWith(old)) {
        document.title = changed.title + document.title.slice(old.length);
      }
      heading.textContent = changed.title;
      const rename = document.querySelector(".rename input[name=title]");
      if (rename && rename.value === old) {
        rename.value = changed.title;
      }
      // the breadcrumb and the thread list's entry: the links to this page
      document.querySelectorAll("a[aria-current=page]").forEach(function (link) {
        if (link.pathname === window.location.pathname) {
          link.textContent = changed.title;
        }
      });
    }
    if (typeof changed.personality === "string") {
      const badge = document.getElementById("thread-personality");
      badge.textContent = `Personality: ${changed.personality}`;
      badge.hidden = changed.personality === "";
    }
  }

  function finish(id, answer) {
    answer.removeAttribute("data-streaming");
    answer.setAttribute("aria-busy", "false");
    answered.add(id);
    updateStop();
  }

  const handlers = {
    "thread.message.created": function (id, data) {
      turnFor(id, data.message);
      answerFor(id);
      updateStop();
    },
    "thread.message.delta": function (id, data) {
      const text = answerFor(id).querySelector("[data-role=text]");
      text.textContent += (data.delta && data.delta.content) || "";
      updateStop();
    },
    "thread.run.tool_call": function (id, data) {
      const card = toolCard(answerFor(id), data.id);
      card.querySelector("summary code").textContent = data.name;
      card.querySelector("[data-role=arguments]").textContent = pretty(data.arguments);
    },
    "thread.run.tool_result": function (id, data) {
      const card = toolCard(answerFor(id), data.id);
      card.querySelector("[data-role=result]").textContent = data.result;
      card.querySelector(".tool-state").textContent = "";
    },
    "thread.run.completed": function (id, data) {
      const answer = answerFor(id);
      if (data.message) {
        answer.querySelector("[data-role=text]").textContent = data.message.content;
      }
      setBadge(answer, data.status === "cancelled" ? "cancelled" : "completed");
      meta(answer, data);
      showThread(data.thread);
      finish(id, answer);
    },
    "thread.run.failed": function (id, data) {
      const answer = answerFor(id);
      const error = answer.querySelector("[data-role=error]");
      error.textContent = (data.error && (data.error.detail || data.error.title)) || "The turn failed.";
      error.hidden = false;
      setBadge(answer, "failed");
      meta(answer, data);
      showThread(data.thread);
      finish(id, answer);
    },
  };

  function handle(frame) {
    if (frame.event === "error") {
      const problem = (frame.data && frame.data.error) || {};
      const fields = Object.values(problem.errors || {}).flat();
      showError(fields.length ? fields.join(" ") : (problem.detail || "The server refused that."));
      return;
    }
    if (typeof frame.id === "number") {
      if (frame.id <= lastSeq) {
        return;
      }
      lastSeq = frame.id;
    }
    const data = frame.data || {};
    const id = data.message_id;
    const handler = handlers[frame.event];
    if (!id || !handler || answered.has(id)) {
      return;
    }
    handler(id, data);
  }

  // --- the socket ---------------------------------------------------------------------------

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${window.location.host}${root.dataset.wsPath}?last_event_id=${lastSeq}`);
    socket.addEventListener("open", function () {
      attempts = 0;
      root.dataset.connected = "true";
      setStatus("Live: answers stream as they are written.");
    });
    socket.addEventListener("message", function (event) {
      handle(JSON.parse(event.data));
    });
    socket.addEventListener("close", function (event) {
      root.dataset.connected = "false";
      socket = null;
      if (REFUSED[event.code]) {
        setStatus(REFUSED[event.code]);
        return;
      }
      attempts += 1;
      const wait = Math.min(500 * 2 ** (attempts - 1), 8000);
      setStatus("Connection lost; reconnecting…");
      window.setTimeout(connect, wait);
    });
  }

  function open() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  if (composer) {
    const field = composer.querySelector("textarea[name=message]");
    composer.addEventListener("submit", function (event) {
      const stopping = event.submitter === stopButton;
      if (!open()) {
        return; // no socket: the form posts (the message, or the stop)
      }
      event.preventDefault();
      errors.replaceChildren();
      if (stopping) {
        socket.send(JSON.stringify({type: "cancel"}));
        return;
      }
      if (!field.value.trim()) {
        showError("Type a message first.");
        field.focus();
        return;
      }
      socket.send(JSON.stringify({type: "message", content: field.value}));
      field.value = "";
    });
    field.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composer.requestSubmit(document.getElementById("send-button"));
      }
    });
  }

  updateStop();
  connect();
})();
