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
from .clients import client_for
from .retry import AllCandidatesFailed, Attempt, Candidate, close_clients, complete_with_fallbacks, cost_usd

__all__ = [
    "AllCandidatesFailed", "Attempt", "Candidate", "Completion", "CompletionRequest", "LLMClient", "Message",
    "ProviderError", "ProviderSettings", "ToolCall", "ToolSpec", "Usage", "client_for", "close_clients",
    "complete_with_fallbacks", "cost_usd",
]
