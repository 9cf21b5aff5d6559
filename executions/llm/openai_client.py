"""OpenAI-compatible chat completions through the official ``openai`` SDK.

One client serves OpenAI and everything that copies its API (vLLM, Ollama,
LM Studio, ...): only ``base_url`` and the key change.  The SDK's own retries
are off; ``retry.complete_with_fallbacks`` decides about retrying.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import openai

from core.nesting import json_loads

from .base import Completion, CompletionRequest, Message, ProviderError, ProviderSettings, ToolCall, Usage
from .errors import error_detail, redact, status_error, transport_error

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "not-needed"  # local servers accept any key, but the SDK insists on one
_SDK_ERRORS = (openai.OpenAIError, httpx.HTTPError, httpx2.HTTPError)


class OpenAIClient:
    """``http_client`` (``httpx`` or ``httpx2``) is the caller's to close
    unless ``owns_http_client``; without one the SDK makes its own pool."""

    def __init__(self, settings: ProviderSettings, http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
                 *, owns_http_client: bool = False):
        self.settings = settings
        self._closes_sdk = http_client is None or owns_http_client
        self._sdk = openai.AsyncOpenAI(
            base_url=settings.base_url or DEFAULT_BASE_URL, api_key=settings.api_key or PLACEHOLDER_API_KEY,
            max_retries=0, timeout=settings.timeout_seconds, http_client=http_client)

    async def complete(self, request: CompletionRequest) -> Completion:
        try:
            response = await self._sdk.chat.completions.create(**wire_params(request))
        except _SDK_ERRORS as exc:
            raise self._error(exc) from exc
        if not response.choices:
            raise ProviderError(f"{self.settings.name}: the answer had no choices", retryable=True)
        choice = response.choices[0]
        message = choice.message
        calls = tuple(_tool_call(c.id, c.function.name, c.function.arguments)
                      for c in message.tool_calls or () if getattr(c, "function", None) is not None)
        return Completion(text=message.content or "", tool_calls=calls, usage=_usage(response.usage),
                          model=response.model or request.model, finish_reason=choice.finish_reason or "stop")

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
        if self._closes_sdk:
            await self._sdk.close()

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
