"""Anthropic messages through the official ``anthropic`` SDK.

Three things about SDK 2.x (API version 2026-10-21) shape this module:

- the SDK sends the key as ``Authorization: Bearer``, not ``x-api-key``;
- the API answers 400 to ``temperature``, ``top_p`` and ``top_k``, and the SDK
  no longer has them, so those request fields are not sent (nor ``seed``,
  which Anthropic never had); a JSON schema ``response_format`` becomes
  ``output_config.format``;
- the SDK is built on ``httpx2`` and refuses an ``httpx`` client outright, so
  an ``httpx.AsyncClient`` (such as the network guard's) is bridged: every
  request still goes out through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import httpx2

from .base import Completion, CompletionRequest, Message, ProviderError, ProviderSettings, ToolCall, Usage
from .errors import error_detail, redact, status_error, transport_error

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024
PLACEHOLDER_API_KEY = "not-needed"  # an explicit key also stops the SDK reading ANTHROPIC_* credentials
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
_SDK_ERRORS = (anthropic.AnthropicError, httpx.HTTPError, httpx2.HTTPError)


class AnthropicClient:
    """``http_client`` (``httpx`` or ``httpx2``) is the caller's to close
    unless ``owns_http_client``; without one the SDK makes its own pool."""

    def __init__(self, settings: ProviderSettings, http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
                 *, owns_http_client: bool = False):
        self.settings = settings
        self._closes_sdk = http_client is None or owns_http_client
        if isinstance(http_client, httpx.AsyncClient):
            bridge = HttpxBridge(http_client, close_client=owns_http_client)
            http_client = httpx2.AsyncClient(transport=bridge, follow_redirects=False)
            self._closes_sdk = True  # the bridge is ours; it closes the httpx client only when that is ours too
        self._sdk = anthropic.AsyncAnthropic(
            base_url=settings.base_url or DEFAULT_BASE_URL, api_key=settings.api_key or PLACEHOLDER_API_KEY,
            max_retries=0, timeout=settings.timeout_seconds, http_client=http_client)

    async def complete(self, request: CompletionRequest) -> Completion:
        try:
            message = await self._sdk.messages.create(**wire_params(request))
        except _SDK_ERRORS as exc:
            raise self._error(exc) from exc
        return _completion(message, request)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[str | Completion]:
        try:
            async with self._sdk.messages.stream(**wire_params(request)) as events:
                async for event in events:
                    if event.type == "text" and event.text:
                        yield event.text
                message = await events.get_final_message()
        except _SDK_ERRORS as exc:
            raise self._error(exc) from exc
        yield _completion(message, request)

    async def aclose(self) -> None:
        if self._closes_sdk:
            await self._sdk.close()

    def _error(self, exc: Exception) -> ProviderError:
        name, key = self.settings.name, self.settings.api_key
        if isinstance(exc, anthropic.APIStatusError) and exc.status_code >= 400:
            return status_error(provider=name, status=exc.status_code, detail=error_detail(exc.body, exc.message),
                                headers=exc.response.headers, secret=key)
        if isinstance(exc, (anthropic.APIConnectionError, httpx.TransportError, httpx2.TransportError)):
            timeout = isinstance(exc, (anthropic.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException))
            return transport_error(provider=name, exc=exc, timeout=timeout, secret=key)
        # An error event inside a 200 stream (overloaded, ...), or an answer the SDK could not read.
        body = getattr(exc, "body", None)
        detail = error_detail(body, getattr(exc, "message", "") or str(exc) or type(exc).__name__)
        return ProviderError(redact(f"{name}: {detail}", key), retryable=True)


def wire_params(request: CompletionRequest) -> dict[str, Any]:
    """The messages body for ``request``: system text apart, tools as ``input_schema``."""
    params: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
                              "messages": _wire_messages(request.messages)}
    system = "\n\n".join(m.content for m in request.messages if m.role == "system" and m.content)
    if system:
        params["system"] = system
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    if request.tools:
        params["tools"] = [{"name": t.name, "input_schema": t.parameters,
                            **({"description": t.description} if t.description else {})} for t in request.tools]
    output_format = _output_format(request.response_format)
    if output_format is not None:
        params["output_config"] = {"format": output_format}
    return params


def _wire_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            result = {"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content}
            if wire and wire[-1]["role"] == "user" and _all_tool_results(wire[-1]["content"]):
                wire[-1]["content"].append(result)  # one user turn answers all of the assistant's calls
            else:
                wire.append({"role": "user", "content": [result]})
        elif message.role == "assistant" and message.tool_calls:
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in message.tool_calls]
            wire.append({"role": "assistant", "content": blocks})
        else:
            wire.append({"role": "assistant" if message.role == "assistant" else "user", "content": message.content})
    return wire


def _all_tool_results(content: Any) -> bool:
    return isinstance(content, list) and all(block.get("type") == "tool_result" for block in content)


def _output_format(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's ``{"type": "json_schema", "json_schema": {"schema": ...}}`` in Anthropic's terms.

    ``json_object`` has no Anthropic counterpart and is left to the prompt.
    """
    if not response_format or response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get("schema")
    return {"type": "json_schema", "schema": schema} if schema else None


def _completion(message: Any, request: CompletionRequest) -> Completion:
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = tuple(
        ToolCall(id=block.id, name=block.name,
                 arguments=block.input if isinstance(block.input, dict) else {"_raw": block.input})
        for block in message.content if block.type == "tool_use")
    usage = Usage(prompt_tokens=message.usage.input_tokens or 0, completion_tokens=message.usage.output_tokens or 0)
    stop = message.stop_reason or "end_turn"
    return Completion(text=text, tool_calls=calls, usage=usage, model=message.model or request.model,
                      finish_reason=FINISH_REASONS.get(stop, stop))


class HttpxBridge(httpx2.AsyncBaseTransport):
    """An ``httpx2`` transport that sends each request through an ``httpx.AsyncClient``.

    Redirects, proxies and the network guard's checks are that client's; the
    SDK's per-request timeout travels in the request's extensions.  httpx
    errors come back as their httpx2 namesakes, chained to the original.
    """

    def __init__(self, client: httpx.AsyncClient, *, close_client: bool = False):
        self._client = client
        self._close_client = close_client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        outgoing = httpx.Request(request.method, str(request.url), headers=request.headers.raw,
                                 content=await request.aread(), extensions=dict(request.extensions))
        try:
            response = await self._client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            raise _as_httpx2(exc, request) from exc
        extensions = {key: response.extensions[key] for key in ("http_version", "reason_phrase")
                      if key in response.extensions}
        return httpx2.Response(response.status_code, headers=response.headers.raw, extensions=extensions,
                               stream=_BridgedStream(response, request), request=request)

    async def aclose(self) -> None:
        if self._close_client:
            await self._client.aclose()


class _BridgedStream(httpx2.AsyncByteStream):
    def __init__(self, response: httpx.Response, request: httpx2.Request):
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():  # still encoded: httpx2 decodes
                yield chunk
        except httpx.HTTPError as exc:
            raise _as_httpx2(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._response.aclose()


def _as_httpx2(exc: httpx.HTTPError, request: httpx2.Request) -> httpx2.HTTPError:
    """The httpx2 exception named like ``exc``'s nearest httpx class (ConnectError, ReadTimeout, ...)."""
    for cls in type(exc).__mro__:
        twin = getattr(httpx2, cls.__name__, None) if cls.__module__.startswith("httpx") else None
        if isinstance(twin, type) and issubclass(twin, httpx2.RequestError):
            return twin(str(exc), request=request)
    return httpx2.TransportError(str(exc), request=request)
