"""How a provider's failure becomes a ``ProviderError``, the same way for
every client, so "retryable" means one thing everywhere: 408, 429 and 5xx
answers, connection errors and timeouts may pass; anything else, and a
request the network guard refused, would fail again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from core.netguard import BlockedAddress, BlockedRequest

from .base import ProviderError

RETRYABLE_STATUSES = frozenset({408, 429})  # and every 5xx
_MAX_DETAIL = 500


def redact(text: str, secret: str) -> str:
    """``text`` with ``secret`` (an API key) replaced, for messages and logs."""
    return text.replace(secret, "[redacted]") if secret else text


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_retryable_status(status: int | None) -> bool:
    return status is not None and (status in RETRYABLE_STATUSES or status >= 500)


def status_error(*, provider: str, status: int, detail: str, headers: Mapping[str, str] | None = None,
                 secret: str = "") -> ProviderError:
    """The ``ProviderError`` for an HTTP error answer."""
    retryable = is_retryable_status(status)
    message = redact(f"{provider}: HTTP {status}: {detail}", secret)[:_MAX_DETAIL]  # redact, then cut
    return ProviderError(message, status=status, retryable=retryable,
                         retry_after=parse_retry_after(headers) if retryable else None)


def transport_error(*, provider: str, exc: BaseException, timeout: bool, secret: str = "") -> ProviderError:
    """The ``ProviderError`` for a request that got no answer: refused, dropped or timed out.

    A request the network guard refused (a private address) is not
    retryable: the answer would be the same.  Everything else may pass.
    """
    blocked = _guard_refusal(exc)
    if blocked is not None:
        return ProviderError(redact(f"{provider}: request refused: {blocked}", secret)[:_MAX_DETAIL])
    cause = exc.__cause__ or exc
    what = "timed out" if timeout else "connection failed"
    detail = str(cause) or type(cause).__name__
    return ProviderError(redact(f"{provider}: {what}: {detail}", secret)[:_MAX_DETAIL], retryable=True)


def error_detail(body: object, fallback: str) -> str:
    """The human part of an error body in either wire format: ``error.message``."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("message"), str):
            return body["message"]
    return fallback


def _guard_refusal(exc: BaseException) -> BaseException | None:
    """The network guard's refusal somewhere in ``exc``'s chain, if any."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (BlockedRequest, BlockedAddress)):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
