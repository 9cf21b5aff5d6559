"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint (OpenAI,
vLLM, Ollama, LM Studio, text-embeddings-inference …) through the official
SDK, on the private-address guard's HTTP client like the chat clients.

Synchronous: the knowledge base embeds in Celery workers and in the search
selector, which sync code (the chat's slash commands) calls too.

The SDK loads with the first client, not with this module, which every web
process and worker imports (through the knowledge search): importing openai
took about a second and 40 MB in each (docs/PERFORMANCE.md)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from core.netguard import guarded_client

from .base import ProviderError, ProviderSettings
from .errors import error_detail, redact, status_error, transport_error

BATCH_SIZE = 64  # inputs per request; every OpenAI-compatible server takes this many
SDK_RETRIES = 2  # the SDK's own backoff on 429/5xx and dropped connections


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    tokens: int = 0  # what the provider reported using


class EmbeddingClient:
    """Embeds texts with ``model`` of one provider; close it with ``close()``
    (or use it as a context manager)."""

    def __init__(self, settings: ProviderSettings, model: str):
        if settings.kind != "openai":
            raise ProviderError(f"{settings.name}: embeddings need an OpenAI-compatible provider "
                                f"(kind openai), not {settings.kind}.")
        import openai

        from .openai_client import DEFAULT_BASE_URL, PLACEHOLDER_API_KEY

        self._openai = openai
        self.settings, self.model = settings, model
        self._http = guarded_client(settings.timeout_seconds)
        self._sdk = openai.OpenAI(base_url=settings.base_url or DEFAULT_BASE_URL,
                                  api_key=settings.api_key or PLACEHOLDER_API_KEY, max_retries=SDK_RETRIES,
                                  timeout=settings.timeout_seconds, http_client=self._http)

    def embed(self, texts: list[str]) -> Embeddings:
        """One vector per text, in order; raises ``ProviderError``."""
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start:start + BATCH_SIZE]
            try:
                response = self._sdk.embeddings.create(model=self.model, input=batch, encoding_format="float")
            except (self._openai.OpenAIError, httpx.HTTPError) as exc:
                raise self._error(exc) from exc
            items = sorted(response.data, key=lambda item: item.index)
            if len(items) != len(batch):
                raise ProviderError(f"{self.settings.name}: asked for {len(batch)} embeddings, got {len(items)}.",
                                    retryable=True)
            vectors += [list(item.embedding) for item in items]
            tokens += getattr(response.usage, "prompt_tokens", 0) or 0
        return Embeddings(vectors=vectors, tokens=tokens)

    def close(self) -> None:
        self._sdk.close()
        self._http.close()

    def __enter__(self) -> EmbeddingClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _error(self, exc: Exception) -> ProviderError:
        name, key, openai = self.settings.name, self.settings.api_key, self._openai
        if isinstance(exc, openai.APIStatusError):
            return status_error(provider=name, status=exc.status_code, detail=error_detail(exc.body, exc.message),
                                headers=exc.response.headers, secret=key)
        if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
            timeout = isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException))
            return transport_error(provider=name, exc=exc, timeout=timeout, secret=key)
        return ProviderError(redact(f"{name}: {exc}", key), retryable=True)
