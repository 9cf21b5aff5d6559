"""LLM clients behind one interface (``base.LLMClient``), retries and fallbacks.

``client_for(settings)`` picks the client for a provider's kind; the SDK
modules are imported only when a provider of that kind is used.
"""

from __future__ import annotations

from .base import (
    Completion,
    CompletionRequest,
    LLMClient,
    Message,
    ProviderError,
    ProviderSettings,
    ToolCall,
    ToolSpec,
    Usage,
)
from .retry import AllCandidatesFailed, Attempt, Candidate, close_clients, complete_with_fallbacks, cost_usd

__all__ = [
    "AllCandidatesFailed", "Attempt", "Candidate", "Completion", "CompletionRequest", "LLMClient", "Message",
    "ProviderError", "ProviderSettings", "ToolCall", "ToolSpec", "Usage", "client_for", "close_clients",
    "complete_with_fallbacks", "cost_usd",
]

KINDS = ("openai", "anthropic", "echo")


def client_for(settings: ProviderSettings, http_client=None) -> LLMClient:
    """The client for ``settings.kind``; the caller closes it with ``aclose()``.

    Without ``http_client``, SDK traffic goes through the network guard's
    client (``core.netguard``), which refuses private addresses unless
    ``AGENTRY_ALLOWED_PRIVATE_HOSTS`` allows them, and the LLM client owns it.
    A passed ``http_client`` stays the caller's to close.
    """
    if settings.kind == "echo":
        from .echo import EchoClient

        return EchoClient(settings)
    if settings.kind == "openai":
        from .openai_client import OpenAIClient as client_class
    elif settings.kind == "anthropic":
        from .anthropic_client import AnthropicClient as client_class
    else:
        raise ProviderError(f"{settings.name}: unknown provider kind {settings.kind!r}")
    if http_client is not None:
        return client_class(settings, http_client)
    from core.netguard import guarded_async_client

    return client_class(settings, guarded_async_client(settings.timeout_seconds), owns_http_client=True)
