"""OpenAI-compatible chat completions, plain and streamed.

One client serves OpenAI and everything that copies its API (vLLM, Ollama,
LM Studio, ...): only ``base_url`` and the key change.  It speaks the wire
format on the HTTP client directly, read with orjson, rather than through the
official SDK: the SDK's request transform and its response models (one per
streamed chunk) cost more than the rest of what a run adds.  A profile of a
worker put them at 16% of its time, and of a chat server under 200 streams
at a fifth; a plain completion took 1.3 ms less than through the SDK.  It
sends them over aiohttp, under the private-address guard
(``core.guarded_aiohttp``): the same call took a quarter of httpx's CPU, 2 ms
of every invoke's time (docs/PERFORMANCE.md, eleventh pass).  There are no
retries here: ``retry.complete_with_fallbacks`` decides about retrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from core.guarded_aiohttp import guarded_session, session_timeout
from core.nesting import json_loads

from .base import Completion, CompletionRequest, Message, ProviderError, ProviderSettings, ToolCall, Usage
from .errors import error_detail, redact, status_error, transport_error

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "not-needed"  # local servers accept any key, but want an Authorization header
DRAIN_SECONDS = 1.0  # how long the end of a stream's body is waited for after [DONE]


class OpenAIClient:
    """``http_client``, an ``aiohttp.ClientSession``, is the caller's to close
    unless ``owns_http_client``; without one the client makes a guarded
    session on the event loop of its first call, and closes it."""

    def __init__(self, settings: ProviderSettings, http_client: aiohttp.ClientSession | None = None,
                 *, owns_http_client: bool = False):
        self.settings = settings
        self._http, self._owns_http = http_client, owns_http_client or http_client is None
        self._timeout = session_timeout(settings.timeout_seconds)
        base_url = settings.base_url or DEFAULT_BASE_URL
        api_key = settings.api_key or PLACEHOLDER_API_KEY
        self._completions_url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                         "Accept": "application/json"}
        self._stream_headers = {**self._headers, "Accept": "text/event-stream"}

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = guarded_session(self.settings.timeout_seconds)
        return self._http

    def _post(self, params: dict[str, Any], headers: dict[str, str]):
        return self._session().post(self._completions_url, data=_body(params), headers=headers,
                                    timeout=self._timeout, allow_redirects=False)

    async def complete(self, request: CompletionRequest) -> Completion:
        try:
            async with self._post(wire_params(request), self._headers) as response:
                content = await response.read()
        except aiohttp.ClientError as exc:
            raise self._error(exc) from exc
        if response.status >= 400:
            raise self._status_error(response, content)
        return self._completion(_json_or_none(content), request)

    def _completion(self, body: Any, request: CompletionRequest) -> Completion:
        """The answer's completion; an answer of another shape is a retryable error."""
        try:
            choice = body["choices"][0]
            message = choice["message"] or {}
            calls = tuple(_tool_call(c.get("id") or "", c["function"].get("name") or "",
                                     c["function"].get("arguments") or "")
                          for c in message.get("tool_calls") or () if isinstance(c.get("function"), dict))
            return Completion(text=message.get("content") or "", tool_calls=calls,
                              usage=_usage(body.get("usage") or {}),
                              model=body.get("model") or request.model,
                              finish_reason=choice.get("finish_reason") or "stop")
        except (KeyError, IndexError, TypeError, AttributeError):
            problem = "the answer had no choices" if isinstance(body, dict) and not body.get("choices") \
                else "the answer could not be read"
            raise ProviderError(f"{self.settings.name}: {problem}", retryable=True) from None

    async def stream(self, request: CompletionRequest) -> AsyncIterator[str | Completion]:
        params = {**wire_params(request), "stream": True, "stream_options": {"include_usage": True}}
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage, model, finish = Usage(), request.model, "stop"
        try:
            async with self._post(params, self._stream_headers) as response:
                if response.status >= 400:
                    raise self._status_error(response, await response.read())
                async for chunk in self._chunks(response):
                    model = chunk.get("model") or model
                    if chunk.get("usage"):
                        usage = _usage(chunk["usage"])
                    for choice in chunk.get("choices") or ():
                        finish = choice.get("finish_reason") or finish
                        delta = choice.get("delta") or {}
                        for part in delta.get("tool_calls") or ():
                            call = calls.setdefault(part.get("index") or 0, {"id": "", "name": "", "arguments": ""})
                            call["id"] = part.get("id") or call["id"]
                            function = part.get("function") or {}
                            call["name"] = function.get("name") or call["name"]
                            call["arguments"] += function.get("arguments") or ""
                        if delta.get("content"):
                            text.append(delta["content"])
                            yield delta["content"]
        except aiohttp.ClientError as exc:
            raise self._error(exc) from exc
        except (AttributeError, TypeError):  # a chunk of another shape
            raise ProviderError(f"{self.settings.name}: a streamed chunk could not be read", retryable=True) from None
        tool_calls = tuple(_tool_call(c["id"], c["name"], c["arguments"]) for _i, c in sorted(calls.items()))
        yield Completion(text="".join(text), tool_calls=tool_calls, usage=usage, model=model, finish_reason=finish)

    async def _chunks(self, response) -> AsyncIterator[dict]:
        """The stream's JSON chunks, from its server-sent events, until ``[DONE]``;
        an error event is a retryable ``ProviderError`` (an error answer mid-stream).
        The body is read to its end after ``[DONE]`` (for at most
        ``DRAIN_SECONDS``): a response closed unread closes its connection
        too, and the next call would open (and with TLS shake hands on) a new
        one before its first token."""
        event, data = "", []
        lines = _lines(response.content)
        async for line in lines:
            if line:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "data":
                    data.append(value)
                elif field == "event":
                    event = value
                continue
            if not data:  # a blank line after comments or nothing
                event = ""
                continue
            payload, data = "\n".join(data), []
            if payload.startswith("[DONE]"):
                await _drain(lines)
                return
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise ProviderError(f"{self.settings.name}: a streamed chunk was not JSON", retryable=True) from None
            if event == "error" or (isinstance(chunk, dict) and chunk.get("error")):
                detail = error_detail(chunk, payload)
                raise ProviderError(redact(f"{self.settings.name}: {detail}", self.settings.api_key)[:500],
                                    retryable=True)
            event = ""
            yield chunk

    def _status_error(self, response: aiohttp.ClientResponse, content: bytes) -> ProviderError:
        return status_error(provider=self.settings.name, status=response.status,
                            detail=error_detail(_json_or_none(content),
                                                content.decode(errors="replace") or response.reason or ""),
                            headers=response.headers, secret=self.settings.api_key)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()

    def _error(self, exc: aiohttp.ClientError) -> ProviderError:
        """The ``ProviderError`` for an HTTP client error: a request refused,
        dropped, timed out, or an answer that could not be read."""
        return transport_error(provider=self.settings.name, exc=exc, timeout=isinstance(exc, TimeoutError),
                               secret=self.settings.api_key)


def wire_params(request: CompletionRequest) -> dict[str, Any]:
    """The chat completions body for ``request``; unset parameters are left out."""
    params: dict[str, Any] = {"model": request.model, "messages": [_wire_message(m) for m in request.messages]}
    for name in ("temperature", "max_tokens", "top_p", "seed"):
        value = getattr(request, name)
        if value is not None:
            params[name] = value
    if request.stop:
        params["stop"] = list(request.stop)
    if request.tools:
        params["tools"] = [
            {"type": "function",
             "function": {"name": t.name, "parameters": t.parameters, **({"description": t.description}
                                                                         if t.description else {})}}
            for t in request.tools]
    if request.response_format is not None:
        params["response_format"] = request.response_format
    return params


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {"role": "assistant", "content": message.content or None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in message.tool_calls]}
    return {"role": message.role, "content": message.content}


def _body(params: dict[str, Any]) -> bytes:
    """The request body; what orjson cannot write (an integer beyond 64 bits
    in a tool's schema, say) goes through ``json``."""
    try:
        return orjson.dumps(params)
    except orjson.JSONEncodeError:
        return json.dumps(params).encode()


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[str]:
    """The body's lines as text, as its chunks arrive, split at CR, LF or CRLF
    (all three end a line of server-sent events) wherever the chunks break."""
    pending, after_cr = b"", False
    async for chunk in content.iter_any():
        if after_cr and chunk.startswith(b"\n"):  # the LF of a CRLF whose CR ended the last chunk
            chunk = chunk[1:]
        after_cr = False
        pending += chunk
        if not pending:
            continue
        lines = pending.splitlines()
        after_cr = pending.endswith(b"\r")
        pending = b"" if pending.endswith((b"\n", b"\r")) else lines.pop()
        for line in lines:
            yield line.decode(errors="replace")
    if pending:
        yield pending.decode(errors="replace")


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read what is left of a body, giving up after ``DRAIN_SECONDS``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _line in lines:
                pass


def _json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """A tool call; arguments that are not a JSON object are kept whole under ``_raw``."""
    try:
        parsed = json_loads(arguments) if arguments else {}
    except ValueError:
        parsed = None
    return ToolCall(id=call_id, name=name, arguments=parsed if isinstance(parsed, dict) else {"_raw": arguments})


def _usage(usage: dict) -> Usage:
    return Usage(prompt_tokens=usage.get("prompt_tokens") or 0, completion_tokens=usage.get("completion_tokens") or 0)
