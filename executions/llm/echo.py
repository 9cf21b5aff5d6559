"""The offline provider: answers with what the user said last.

Deterministic and free, for the demo and for tests that don't care what a
model would say.  Usage is estimated with ``estimate_tokens`` so cost and
token accounting still have numbers to work with.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from .base import Completion, CompletionRequest, ProviderSettings, Usage


def estimate_tokens(text: str) -> int:
    """About four characters a token, never zero: the estimate used wherever a count is made up."""
    return len(text) // 4 + 1


def last_user_text(request: CompletionRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""


class EchoClient:
    def __init__(self, settings: ProviderSettings | None = None, http_client=None):
        self.settings = settings

    async def complete(self, request: CompletionRequest) -> Completion:
        text = last_user_text(request)
        prompt = "\n".join(message.content for message in request.messages)
        return Completion(text=text, usage=Usage(estimate_tokens(prompt), estimate_tokens(text)),
                          model=request.model, finish_reason="stop")

    async def stream(self, request: CompletionRequest) -> AsyncIterator[str | Completion]:
        completion = await self.complete(request)
        for piece in re.findall(r"\s*\S+\s*", completion.text) or ([completion.text] if completion.text else []):
            yield piece
            await asyncio.sleep(0)
        yield completion

    async def aclose(self) -> None:
        pass
