"""OpenAI-compatible chat completions.

One client serves OpenAI and everything that copies its API (vLLM, Ollama,
LM Studio, ...): only ``base_url`` and the key change.  A plain completion is
one POST of the wire format on the HTTP client, read with orjson: the
official SDK's request and response models cost more than the rest of what a
run adds (a profile of invoke put them at 16% of a worker's time).  Streams
go through the SDK, which parses the event stream.  The SDK's own retries are
off; ``retry.complete_with_fallbacks`` decides about retrying.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import openai
import orjson

from core.nesting import json_loads

from .base import Completion, CompletionRequest, Message, ProviderError, ProviderSettings, ToolCall, Usage
from .errors import error_detail, redact, status_error, transport_error

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "not-needed"  # local servers accept any key, but the SDK insists on one
_SDK_ERRORS = (openai.OpenAIError, httpx.HTTPError, httpx2.HTTPError)
_HTTP_ERRORS = (httpx.HTTPError, httpx2.HTTPError)


class OpenAIClient:
    """``http_client`` (``httpx`` or ``httpx2``) is the caller's to close
    unless ``owns_http_client``; without one the client makes its own pool."""

    def __init__(self, settings: ProviderSettings, http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
                 *, owns_http_client: bool = False):
        self.settings = settings
        if http_client is None:
            http_client, owns_http_client = httpx.AsyncClient(timeout=settings.timeout_seconds), True
        self._http, self._owns_http = http_client, owns_http_client
        base_url = settings.base_url or DEFAULT_BASE_URL
        api_key = settings.api_key or PLACEHOLDER_API_KEY
        self._completions_url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                         "Accept": "application/json"}
        self._sdk = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0,
                                       timeout=settings.timeout_seconds, http_client=http_client)

    async def complete(self, request: CompletionRequest) -> Completion:
        try:
            response = await self._http.post(self._completions_url, content=orjson.dumps(wire_params(request)),
                                             headers=self._headers, timeout=self.settings.timeout_seconds)
        except _HTTP_ERRORS as exc:
            raise self._error(exc) from exc
        if response.status_code >= 400:
            raise status_error(provider=self.settings.name, status=response.status_code,
                               detail=error_detail(_json_or_none(response.content), response.text or
                                                   response.reason_phrase),
                               headers=response.headers, secret=self.settings.api_key)
        return self._completion(_json_or_none(response.content), request)

    def _completion(self, body: Any, request: CompletionRequest) -> Completion:
        """The answer's completion; an answer of another shape is a retryable error, as the SDK had it."""
        try:
            choice = body["choices"][0]
            message = choice["message"] or {}
            calls = tuple(_tool_call(c.get("id") or "", c["function"].get("name") or "",
                                     c["function"].get("arguments") or "")
                          for c in message.get("tool_calls") or () if isinstance(c.get("function"), dict))
            usage = body.get("usage") or {}
            return Completion(text=message.get("content") or "", tool_calls=calls,
                              usage=Usage(prompt_tokens=usage.get("prompt_tokens") or 0,
                                          completion_tokens=usage.get("completion_tokens") or 0),
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
            chunks = await self._sdk.chat.completions.create(**params)
            async with chunks:
                async for chunk in chunks:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage)
                    for choice in chunk.choices:
                        finish = choice.finish_reason or finish
                        for delta in choice.delta.tool_calls or ():
                            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                            call["id"] = delta.id or call["id"]
                            if delta.function is not None:
                                call["name"] = delta.function.name or call["name"]
                                call["arguments"] += delta.function.arguments or ""
                        if choice.delta.content:
                            text.append(choice.delta.content)
                            yield choice.delta.content
        except _SDK_ERRORS as exc:
            raise self._error(exc) from exc
        tool_calls = tuple(_tool_call(c["id"], c["name"], c["arguments"]) for _i, c in sorted(calls.items()))
        yield Completion(text="".join(text), tool_calls=tool_calls, usage=usage, model=model, finish_reason=finish)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._sdk.close()  # closes the HTTP client

    def _error(self, exc: Exception) -> ProviderError:
        name, key = self.settings.name, self.settings.api_key
        if isinstance(exc, openai.APIStatusError):
            return status_error(provider=name, status=exc.status_code, detail=error_detail(exc.body, exc.message),
                                headers=exc.response.headers, secret=key)
        if isinstance(exc, (openai.APIConnectionError, httpx.TransportError, httpx2.TransportError)):
            timeout = isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException))
            return transport_error(provider=name, exc=exc, timeout=timeout, secret=key)
        # An error event inside a stream, or an answer the SDK could not read.
        detail = exc.message if isinstance(exc, openai.APIError) else str(exc) or type(exc).__name__
        return ProviderError(redact(f"{name}: {detail}", key), retryable=True)


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


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0)
