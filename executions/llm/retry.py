"""Retries, fallbacks and what a call cost.

A node names a model and, optionally, fallback models; each is a
``Candidate``.  ``complete_with_fallbacks`` tries them in order, retrying the
errors a provider says may pass (429, 5xx, connection errors, timeouts) with
backoff, and records every try as an ``Attempt`` for the step's trace.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from asyncio import sleep
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from .base import Completion, CompletionRequest, LLMClient, ProviderError, ProviderSettings, Usage
from .clients import client_for

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 2
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_MAX = 8.0
MAX_RETRY_AFTER = 60.0  # a provider asking for longer is treated as asking for this
_COST_QUANTUM = Decimal("0.00000001")


# retries and fallbacks

@dataclass(frozen=True)
class Candidate:
    """One provider and model to try."""

    provider: ProviderSettings
    model: str


@dataclass
class Attempt:
    """One try at one candidate, as the step's trace records it."""

    provider: str
    model: str
    attempt: int  # 1-based, per candidate
    ok: bool
    status: int | None = None
    error: str = ""
    retry_after: float | None = None
    duration_ms: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class AllCandidatesFailed(ProviderError):
    """Every candidate failed; ``attempts`` says how, in order."""

    def __init__(self, attempts: list[Attempt], last: ProviderError | None = None):
        if last is None:
            message = "no model to try"
        else:
            message = f"all {len({(a.provider, a.model) for a in attempts})} candidates failed; last error: {last}"
        super().__init__(message, status=last.status if last else None,
                         retryable=last.retryable if last else False,
                         retry_after=last.retry_after if last else None)
        self.attempts = attempts


def backoff_delay(n: int, *, base: float, cap: float) -> float:
    """Full-jitter exponential backoff before retry number ``n`` (0-based)."""
    return random.uniform(0, min(cap, base * 2 ** n))


async def complete_with_fallbacks(
    candidates: Iterable[Candidate],
    request: CompletionRequest,
    *,
    retries: int | None = None,
    backoff_base: float | None = None,
    backoff_max: float = DEFAULT_BACKOFF_MAX,
    clients: dict[str, LLMClient] | None = None,
    on_delta: Callable[[str], Awaitable[None]] | None = None,
) -> tuple[Completion, Candidate, list[Attempt]]:
    """Try each candidate in order, up to ``1 + retries`` times each.

    Only retryable errors are retried: after the provider's ``Retry-After``
    when it gave one (at most a minute), else after a jittered exponential
    backoff.  A non-retryable error, or the last retry failing, moves on to
    the next candidate.  ``retries`` and ``backoff_base`` default to the
    ``AGENTRY_LLM_RETRIES`` and ``AGENTRY_LLM_BACKOFF_BASE`` settings.

    With ``on_delta`` the call streams and awaits ``on_delta(text)`` for each
    delta.  Deltas of a try that failed midway were already passed on; the next
    try streams from the start, so a live view should start over when it sees
    a new attempt.  The returned ``Completion`` is always the whole answer.

    Clients come from ``clients`` (by provider name) or are made with
    ``client_for`` and put there; whoever owns the dict closes them (see
    ``close_clients``).  Without a dict, the clients made here are closed here.
    Raises ``AllCandidatesFailed`` carrying every attempt.
    """
    retries = max(0, _setting("AGENTRY_LLM_RETRIES", DEFAULT_RETRIES) if retries is None else retries)
    backoff_base = _setting("AGENTRY_LLM_BACKOFF_BASE", DEFAULT_BACKOFF_BASE) if backoff_base is None else backoff_base
    owned = clients is None
    clients = {} if clients is None else clients
    attempts: list[Attempt] = []
    last: ProviderError | None = None
    try:
        for candidate in candidates:
            call = dataclasses.replace(request, model=candidate.model)
            for number in range(1, retries + 2):
                started = time.monotonic()
                try:
                    name = candidate.provider.name
                    if name not in clients:
                        clients[name] = client_for(candidate.provider)
                    completion = await _call(clients[name], call, on_delta)
                except ProviderError as exc:
                    last = exc
                    attempts.append(_attempt(candidate, number, started, exc))
                    if not exc.retryable or number > retries:
                        break
                    await sleep(min(exc.retry_after, MAX_RETRY_AFTER) if exc.retry_after is not None
                                        else backoff_delay(number - 1, base=backoff_base, cap=backoff_max))
                    continue
                attempts.append(_attempt(candidate, number, started))
                return completion, candidate, attempts
    finally:
        if owned:
            await close_clients(clients)
    raise AllCandidatesFailed(attempts, last)


def _attempt(candidate: Candidate, number: int, started: float, error: ProviderError | None = None) -> Attempt:
    name, model = candidate.provider.name, candidate.model
    duration_ms = int((time.monotonic() - started) * 1000)
    if error is None:
        return Attempt(provider=name, model=model, attempt=number, ok=True, duration_ms=duration_ms)
    logger.warning("LLM call failed: provider=%s model=%s attempt=%s status=%s retryable=%s: %s",
                   name, model, number, error.status, error.retryable, error.message)
    return Attempt(provider=name, model=model, attempt=number, ok=False, status=error.status, error=error.message,
                   retry_after=error.retry_after, duration_ms=duration_ms)


async def close_clients(clients: dict[str, LLMClient]) -> None:
    """Close every client in ``clients`` and empty it."""
    while clients:
        _name, client = clients.popitem()
        try:
            await client.aclose()
        except Exception:  # closing is best effort; the call's outcome matters more
            logger.exception("closing an LLM client failed")


async def _call(client: LLMClient, request: CompletionRequest,
                on_delta: Callable[[str], Awaitable[None]] | None) -> Completion:
    if on_delta is None:
        return await client.complete(request)
    final: Completion | None = None
    async for item in client.stream(request):
        if isinstance(item, Completion):
            final = item
        else:
            await on_delta(item)
    if final is None:
        raise ProviderError("the stream ended without a final completion", retryable=True)
    return final


def _setting(name: str, default):
    if not settings.configured:
        return default
    return type(default)(getattr(settings, name, default))


# cost

def cost_usd(provider: ProviderSettings, model: str, usage: Usage) -> Decimal:
    """What ``usage`` cost at the provider's prices (USD per million tokens); 0 when unpriced."""
    prices = provider.prices.get(model)
    if isinstance(prices, Mapping):  # the shape a Provider row stores
        prices = (prices.get("input_per_million") or 0, prices.get("output_per_million") or 0)
    if not prices:
        return Decimal(0).quantize(_COST_QUANTUM)
    input_price, output_price = (Decimal(str(p)) for p in prices)
    cost = (usage.prompt_tokens * input_price + usage.completion_tokens * output_price) / Decimal(1_000_000)
    return cost.quantize(_COST_QUANTUM)
