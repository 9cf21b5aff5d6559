"""Testing an LLM provider: one real call through its client.

Creating, changing and deleting providers are ``agents.services.providers``.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from agents.inputs.providers import MODEL_NAME_MAX
from agents.models import Provider
from core.errors import ApiError, BadGateway, ValidationFailed
from executions.llm import CompletionRequest, Message, ProviderError, client_for
from executions.llm.errors import redact
from executions.selectors import provider_settings

logger = logging.getLogger("agentry.providers")

TEST_PROMPT = "Reply with: ok"
TEST_TIMEOUT_SECONDS = 30.0
OUTPUT_MAX = 1000


class NotConfigured(ApiError):
    status, code = 400, "not_configured"


def _test_model(provider: Provider, model) -> str:
    if model is None:
        listed = [m["name"] for m in provider.models or []]
        if not listed:
            raise ValidationFailed("Name a model to test: this provider lists none.",
                                   errors={"model": ["Required when the provider lists no models."]})
        return listed[0]
    if not isinstance(model, str) or not model.strip() or len(model) > MODEL_NAME_MAX:
        raise ValidationFailed(f"model: Must be 1–{MODEL_NAME_MAX} characters.",
                               errors={"model": [f"Must be 1–{MODEL_NAME_MAX} characters."]})
    return model


async def _complete_once(settings, request: CompletionRequest):
    client = client_for(settings)
    try:
        return await client.complete(request)
    finally:
        await client.aclose()


async def provider_test(*, provider: Provider, model: str | None = None) -> dict:
    """Send a one-line prompt to ``model`` (default: the first listed) and
    report what came back.  A provider failure is a 502 ``provider_error``.
    Async, and reads nothing from the database: the views wait for it on the
    event loop (``core.awaiting``), as a provider may take its timeout to fail."""
    model = _test_model(provider, model)
    try:
        settings = provider_settings(provider)
    except ValueError as exc:
        raise NotConfigured(f"{exc} Set the provider's api_key again.")
    settings = dataclasses.replace(settings, timeout_seconds=min(settings.timeout_seconds, TEST_TIMEOUT_SECONDS))
    request = CompletionRequest(model=model, messages=(Message(role="user", content=TEST_PROMPT),))
    started = time.perf_counter()
    try:
        completion = await _complete_once(settings, request)
    except ProviderError as exc:
        where = f"HTTP {exc.status}" if exc.status else "no response"
        reason = exc.message.removeprefix(f"{provider.name}: ").removeprefix(f"{where}: ")
        detail = redact(f"Provider {provider.name!r} failed ({where}): {reason}", settings.api_key)
        logger.warning("Provider %s (%s) test with model %s failed: %s", provider.name, provider.pk, model, detail)
        raise BadGateway(detail[:1000])
    latency_ms = round((time.perf_counter() - started) * 1000)
    logger.info("Provider %s (%s) test with model %s answered in %d ms", provider.name, provider.pk, model,
                latency_ms)
    return {"ok": True, "model": model, "latency_ms": latency_ms,
            "output": redact(completion.text, settings.api_key)[:OUTPUT_MAX],
            "usage": {"prompt": completion.usage.prompt_tokens, "completion": completion.usage.completion_tokens}}
