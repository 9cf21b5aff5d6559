"""A real HTTP server that speaks just enough of the OpenAI chat completions and
Anthropic messages wire formats for the official SDKs to talk to it.

Tests script what it answers (``enqueue`` for the next requests, ``script`` for
one model's requests) and read what it was asked (``requests``).  With nothing
scripted it echoes the last user message, so a run without scripts is still
deterministic.  It runs in a background thread on 127.0.0.1 with an ephemeral
port; ``python -m tests.fakes.llm_server --port 0`` runs it standalone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_PATHS = ("/v1/chat/completions", "/chat/completions")
ANTHROPIC_PATHS = ("/v1/messages", "/messages")

_OPENAI_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}
_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
_ERROR_TYPES = {
    "openai": {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
               429: "rate_limit_exceeded"},
    "anthropic": {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                  404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                  529: "overloaded_error"},
}


def estimate_tokens(text: str) -> int:
    """The fake's token count: about four characters a token, never zero."""
    return len(text) // 4 + 1


@dataclass
class Reply:
    """One scripted answer.

    ``text=None`` means the default echo text, or no text when there are tool calls.  ``tool_calls`` holds
    ``(name, arguments)`` or ``(name, arguments, id)`` tuples.  ``usage`` is
    ``(prompt_tokens, completion_tokens)``; ``None`` estimates it.  A
    ``status`` other than 200 answers with that status and a JSON error body in
    the request's wire format (``error`` is its message), plus ``Retry-After``
    when ``retry_after`` is set (seconds, or a string sent as is).  ``hold``
    (a ``threading.Event``) keeps the answer back until the test sets it;
    ``delay`` then waits before the response starts; ``chunk_delay`` waits between streamed
    events.  ``disconnect_after`` closes the connection without finishing:
    0 before any response, n after n streamed events.  ``body`` replaces the
    answer's body with these bytes, sent as JSON with ``status`` (an answer
    of the wrong shape).
    """

    text: str | None = None
    tool_calls: list[tuple] | tuple = ()
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    status: int = 200
    error: str | None = None
    retry_after: float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunks: list[str] | None = None
    disconnect_after: int | None = None
    body: bytes | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None when the body was not JSON
    received_at: float  # time.monotonic()
    wall_time: float  # time.time()

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def api(self) -> str | None:
        if self.path in OPENAI_PATHS:
            return "openai"
        if self.path in ANTHROPIC_PATHS:
            return "anthropic"
        return None


class FakeLLMServer:
    """The scripted server.  ``delay`` and ``chunk_delay`` apply to the
    default (unscripted) reply, which is what a benchmark run sees."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.0, chunk_delay: float = 0.0):
        self.host = host
        self.port = port
        self.delay = delay
        self.chunk_delay = chunk_delay
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._scripts: dict[str, deque[Reply]] = {}
        self._requests: list[RecordedRequest] = []
        self.streams_abandoned = 0  # streamed answers whose client closed the connection midway
        self.connections_opened = 0  # TCP connections accepted: a client that keeps its connections alive opens few
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> FakeLLMServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), _Handler, fake=self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-llm-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # scripting

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests (of any model without its own script) with ``replies`` in order."""
        with self._lock:
            self._queue.extend(replies)

    def script(self, model: str, replies: list[Reply] | tuple[Reply, ...]) -> None:
        """Answer requests for ``model`` with ``replies`` in order, before the global queue."""
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(replies)

    def reset(self) -> None:
        """Forget scripts, queued replies, recorded requests and counts."""
        with self._lock:
            self._queue.clear()
            self._scripts.clear()
            self._requests.clear()
            self._ids = itertools.count(1)
            self._embedding_rules = []
            self.streams_abandoned = 0
            self.connections_opened = 0

    def script_embedding(self, contains: str, vector: list[float]) -> None:
        """See :func:`script_embedding` (``POST /v1/embeddings``)."""
        script_embedding(self, contains, vector)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until at least ``count`` requests were recorded (for tests that fire and forget)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self._requests) >= count:
                break
            time.sleep(0.01)
        return self.requests

    # used by the handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, model: str | None) -> Reply:
        with self._lock:
            script = self._scripts.get(model or "")
            if script:
                return script.popleft()
            if self._queue:
                return self._queue.popleft()
        return Reply(delay=self.delay, chunk_delay=self.chunk_delay)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _held_until_released(self, hold: threading.Event | None) -> bool:
        """Wait for ``hold`` unless the server stops first; False when it stopped."""
        while hold is not None and not hold.wait(0.05):
            if self._stopping.is_set():
                return False
        return True

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False when it stopped."""
        return not (seconds > 0 and self._stopping.wait(seconds))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the default backlog of 5 drops connections when many clients start at once

    def __init__(self, address, handler, *, fake: FakeLLMServer):
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, sock: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(sock)
        if open_:
            with self.fake._lock:
                self.fake.connections_opened += 1

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Disconnect(Exception):
    """The scripted reply asked to drop the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLLM/1.0"
    # Headers and body go out in separate writes; without TCP_NODELAY the
    # second waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections end eventually

    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "fake"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route for GET {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fake._record(RecordedRequest(
            method="POST", path=path, headers={k.lower(): v for k, v in self.headers.items()}, body=body,
            received_at=time.monotonic(), wall_time=time.time()))
        if path in EMBEDDING_PATHS:
            _answer_embeddings(self, body)
            return
        api = "openai" if path in OPENAI_PATHS else "anthropic" if path in ANTHROPIC_PATHS else None
        if api is None:
            self._send_json(404, {"error": {"message": f"no route for POST {path}", "type": "not_found"}})
            return
        if not isinstance(body, dict):
            self._send_error(api, Reply(status=400, error="request body is not a JSON object"))
            return
        reply = fake._next_reply(body.get("model"))
        try:
            if not fake._held_until_released(reply.hold) or not fake._sleep(reply.delay) \
                    or reply.disconnect_after == 0:
                raise _Disconnect
            if reply.body is not None:
                self._send_bytes(reply.status, reply.body, reply.headers)
            elif reply.status != 200:
                self._send_error(api, reply)
            else:
                self._answer(api, body, reply)
        except _Disconnect:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # answers

    def _answer(self, api: str, body: dict, reply: Reply) -> None:
        fake = self.server.fake
        if reply.text is not None:
            text = reply.text
        else:
            text = "" if reply.tool_calls else "echo: " + _last_user_text(api, body)
        prompt_tokens, completion_tokens = reply.usage or (
            estimate_tokens(_prompt_text(api, body)), estimate_tokens(text))
        n = fake._next_id()
        calls = [_tool_call(api, n, i, call) for i, call in enumerate(reply.tool_calls)]
        answer = _Answer(id=n, model=body.get("model") or "fake", text=text, calls=calls,
                         usage=(prompt_tokens, completion_tokens), finish=reply.finish_reason, chunks=reply.chunks)
        if body.get("stream"):
            events = (_openai_events(answer, body) if api == "openai" else _anthropic_events(answer))
            self._send_stream(events, reply)
        elif api == "openai":
            self._send_json(200, _openai_body(answer), reply.headers)
        else:
            self._send_json(200, _anthropic_body(answer), reply.headers)

    def _send_error(self, api: str, reply: Reply) -> None:
        message = reply.error or f"fake error {reply.status}"
        kind = _ERROR_TYPES[api].get(reply.status, "api_error" if reply.status >= 500 else "invalid_request_error")
        if api == "openai":
            payload = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        else:
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            value = reply.retry_after
            headers["Retry-After"] = (value if isinstance(value, str)
                                      else str(int(value)) if float(value).is_integer() else str(value))
        self._send_json(reply.status, payload, headers)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_stream(self, events: list[str], reply: Reply) -> None:
        """Server-sent events in chunked transfer encoding, flushed one by one."""
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        try:
            for i, event in enumerate(events):
                if reply.disconnect_after is not None and i >= reply.disconnect_after:
                    raise _Disconnect
                if i and not fake._sleep(reply.chunk_delay):
                    raise _Disconnect
                data = event.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with fake._lock:
                fake.streams_abandoned += 1  # the client hung up: a cancel reached us
            raise _Disconnect from None


@dataclass
class _Answer:
    id: int
    model: str
    text: str
    calls: list[dict]  # {"id", "name", "arguments"}
    usage: tuple[int, int]
    finish: str | None
    chunks: list[str] | None = None


def _tool_call(api: str, n: int, i: int, call: tuple) -> dict:
    name, arguments, *rest = call
    prefix = "call" if api == "openai" else "toolu"
    return {"id": rest[0] if rest else f"{prefix}_{n}_{i}", "name": name, "arguments": arguments}


def _text_of(content: Any, *, tool_results: bool = False) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif tool_results and part.get("type") == "tool_result":
            parts.append(_text_of(part.get("content")))
    return "".join(parts)


def _last_user_text(api: str, body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if api == "anthropic" and isinstance(content, list) and all(
                isinstance(p, dict) and p.get("type") == "tool_result" for p in content):
            continue  # a tool result, not something the user said
        return _text_of(content)
    return ""


def _prompt_text(api: str, body: dict) -> str:
    parts = [_text_of(body.get("system"))] if api == "anthropic" else []
    parts += [_text_of(m.get("content"), tool_results=True) for m in body.get("messages") or [] if isinstance(m, dict)]
    return "\n".join(parts)


def _pieces(text: str, chunks: list[str] | None) -> list[str]:
    """How a streamed text is split: the scripted chunks, else word by word (spaces kept)."""
    if chunks is not None:
        return [piece for piece in chunks if piece]
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _json_pieces(arguments: dict) -> list[str]:
    encoded = json.dumps(arguments)
    return [encoded[i:i + 8] for i in range(0, len(encoded), 8)] or [""]


# OpenAI chat completions

def _openai_finish(answer: _Answer) -> str:
    if answer.finish:
        return _OPENAI_FINISH.get(answer.finish, answer.finish)
    return "tool_calls" if answer.calls else "stop"


def _openai_usage(answer: _Answer) -> dict:
    p, c = answer.usage
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _openai_body(answer: _Answer) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text if answer.text or not answer.calls else None}
    if answer.calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
            for c in answer.calls]
    return {
        "id": f"chatcmpl-fake-{answer.id}", "object": "chat.completion", "created": int(time.time()),
        "model": answer.model, "system_fingerprint": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": _openai_finish(answer), "logprobs": None}],
        "usage": _openai_usage(answer),
    }


def _openai_events(answer: _Answer, body: dict) -> list[str]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None) -> str:
        data = {"id": f"chatcmpl-fake-{answer.id}", "object": "chat.completion.chunk", "created": created,
                "model": answer.model, "system_fingerprint": "fake",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        if include_usage:
            data["usage"] = None
        return f"data: {json.dumps(data)}\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in _pieces(answer.text, answer.chunks)]
    for index, call in enumerate(answer.calls):
        events.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                              "function": {"name": call["name"], "arguments": ""}}]}))
        events += [chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                   for piece in _json_pieces(call["arguments"])]
    events.append(chunk({}, _openai_finish(answer)))
    if include_usage:
        usage = {"id": f"chatcmpl-fake-{answer.id}", "object": "chat.completion.chunk", "created": created,
                 "model": answer.model, "system_fingerprint": "fake", "choices": [], "usage": _openai_usage(answer)}
        events.append(f"data: {json.dumps(usage)}\n\n")
    events.append("data: [DONE]\n\n")
    return events


# Anthropic messages

def _anthropic_stop(answer: _Answer) -> str:
    if answer.finish:
        return _ANTHROPIC_STOP.get(answer.finish, answer.finish)
    return "tool_use" if answer.calls else "end_turn"


def _anthropic_blocks(answer: _Answer) -> list[dict]:
    blocks = [{"type": "text", "text": answer.text}] if answer.text or not answer.calls else []
    blocks += [{"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]} for c in answer.calls]
    return blocks


def _anthropic_body(answer: _Answer) -> dict:
    p, c = answer.usage
    return {
        "id": f"msg_fake_{answer.id}", "type": "message", "role": "assistant", "model": answer.model,
        "content": _anthropic_blocks(answer), "stop_reason": _anthropic_stop(answer), "stop_sequence": None,
        "usage": {"input_tokens": p, "output_tokens": c},
    }


def _anthropic_events(answer: _Answer) -> list[str]:
    def event(kind: str, data: dict) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    p, c = answer.usage
    start = {**_anthropic_body(answer), "content": [], "stop_reason": None,
             "usage": {"input_tokens": p, "output_tokens": 1}}
    events = [event("message_start", {"message": start}), event("ping", {})]
    for index, block in enumerate(_anthropic_blocks(answer)):
        if block["type"] == "text":
            events.append(event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}))
            events += [event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}})
                       for piece in _pieces(block["text"], answer.chunks)]
        else:
            events.append(event("content_block_start", {"index": index, "content_block": {**block, "input": {}}}))
            events += [event("content_block_delta",
                             {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}})
                       for piece in _json_pieces(block["input"])]
        events.append(event("content_block_stop", {"index": index}))
    events.append(event("message_delta", {"delta": {"stop_reason": _anthropic_stop(answer), "stop_sequence": None},
                                          "usage": {"output_tokens": c}}))
    events.append(event("message_stop", {}))
    return events


# OpenAI embeddings (``POST /v1/embeddings``)

EMBEDDING_PATHS = ("/v1/embeddings", "/embeddings")
EMBEDDING_DIMENSIONS = 64
_WORD = re.compile(r"[a-z0-9]+")


def script_embedding(fake: FakeLLMServer, contains: str, vector: list[float]) -> None:
    """Embed every input that contains ``contains`` (case-insensitive) as
    ``vector``: two texts without a word in common can then be made close.
    Inputs no scripted text matches get :func:`default_embedding`.  A
    ``script(model, [Reply(status=...)])`` for the embedding model makes its
    next requests fail instead.  ``reset()`` forgets these too."""
    with fake._lock:
        if not hasattr(fake, "_embedding_rules"):
            fake._embedding_rules = []
        fake._embedding_rules.append((contains.lower(), [float(x) for x in vector]))


def default_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A deterministic bag-of-words vector: each word adds 1 to a bucket
    chosen by a stable hash, then the vector is normalised.  Texts that share
    words are close; it checks the plumbing, it knows no meaning."""
    import hashlib
    import math

    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        vector[int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _embedding_for(fake: FakeLLMServer, text: str) -> list[float]:
    with fake._lock:
        rules = list(getattr(fake, "_embedding_rules", []))
    lowered = text.lower()
    for contains, vector in rules:
        if contains in lowered:
            return vector
    dimensions = len(rules[0][1]) if rules else EMBEDDING_DIMENSIONS
    return default_embedding(text, dimensions)


def _answer_embeddings(handler: _Handler, body: Any) -> None:
    import base64
    import struct

    fake = handler.server.fake
    if not isinstance(body, dict) or "input" not in body:
        handler._send_error("openai", Reply(status=400, error="body needs model and input"))
        return
    with fake._lock:
        script = fake._scripts.get(body.get("model") or "")
        reply = script.popleft() if script else None
    if reply is not None and not (fake._held_until_released(reply.hold) and fake._sleep(reply.delay)):
        return
    if reply is not None and reply.status != 200:
        handler._send_error("openai", reply)
        return
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = []
    for index, text in enumerate(inputs):
        vector = _embedding_for(fake, str(text))
        if body.get("encoding_format") == "base64":
            encoded: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        else:
            encoded = vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(estimate_tokens(str(text)) for text in inputs)
    handler._send_json(200, {"object": "list", "data": data, "model": body.get("model") or "fake",
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake LLM API until killed.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer starts")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed events")
    args = parser.parse_args(argv)
    server = FakeLLMServer(args.host, args.port, delay=args.delay, chunk_delay=args.chunk_delay).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
