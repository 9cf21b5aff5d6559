"""The one small interface every LLM client speaks.

Nodes build a ``CompletionRequest``; a client (OpenAI-compatible, Anthropic,
echo) answers with a ``Completion`` carrying text, tool calls and the usage
the provider reported.  Failures are ``ProviderError``; ``retryable`` says
whether trying again may help (429, 5xx, connection errors, timeouts) and
``retry_after`` carries the provider's ``Retry-After`` in seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call: its name, description and JSON Schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """``role`` is system, user, assistant or tool.  An assistant message may
    carry ``tool_calls``; a tool message answers one with ``tool_call_id``."""

    role: str
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    tools: tuple[ToolSpec, ...] = ()
    response_format: dict[str, Any] | None = None  # {"type": "json_object"} or {"type": "json_schema", ...}


@dataclass(frozen=True)
class Completion:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    model: str = ""
    finish_reason: str = "stop"


@dataclass(frozen=True)
class ProviderSettings:
    """What a client needs to reach one provider: resolved from a ``Provider``
    row or from the environment for the built-in kinds."""

    name: str
    kind: str  # openai | anthropic | echo
    base_url: str = ""
    api_key: str = ""
    timeout_seconds: float = 60.0
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # model → (input, output) USD per 1M


class ProviderError(Exception):
    """A provider call failed.  ``status`` is the HTTP status when there was
    one; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class LLMClient(Protocol):
    async def complete(self, request: CompletionRequest) -> Completion:
        """One completion; raises ``ProviderError``."""

    def stream(self, request: CompletionRequest) -> AsyncIterator[str | Completion]:
        """Text deltas as they arrive, then exactly one final ``Completion``
        (full text, tool calls, usage); raises ``ProviderError``."""

    async def aclose(self) -> None:
        """Release the HTTP connection pool."""
