"""An agent's knowledge settings (``config.knowledge``), with the defaults
for configs stored before the key existed, and the embedding model they
name (or the installation's, ``AGENTRY_KNOWLEDGE_EMBEDDING``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from executions.llm.base import ProviderSettings
from executions.selectors import UnknownProvider, resolve_provider

DEFAULTS = {"embedding": None, "chunk_size": 1000, "chunk_overlap": 150, "top_k": 5}


@dataclass(frozen=True)
class EmbeddingModel:
    provider: ProviderSettings
    model: str

    @property
    def key(self) -> str:
        """What chunks record as the model that embedded them."""
        return f"{self.provider.name}:{self.model}"


class EmbeddingUnavailable(Exception):
    """An embedding model is configured but cannot be used; the message says why."""


def knowledge_config(config: dict | None) -> dict:
    """``config.knowledge`` with every key present."""
    return {**DEFAULTS, **((config or {}).get("knowledge") or {})}


def embedding_ref(config: dict | None) -> tuple[str, str] | None:
    """``(provider, model)`` the agent embeds with, or ``None``."""
    embedding = knowledge_config(config)["embedding"]
    if embedding:
        return embedding["provider"], embedding["model"]
    provider, _, model = settings.AGENTRY_KNOWLEDGE_EMBEDDING.rpartition(":")
    return (provider, model) if provider and model else None


def embedding_model(config: dict | None) -> EmbeddingModel | None:
    """The embedding model to use, ``None`` when none is configured;
    ``EmbeddingUnavailable`` when the one configured cannot be reached."""
    ref = embedding_ref(config)
    if ref is None:
        return None
    provider_ref, model = ref
    try:
        provider = resolve_provider(provider_ref)
    except UnknownProvider:
        raise EmbeddingUnavailable(f"The embedding provider {provider_ref!r} does not exist.") from None
    except ValueError:
        raise EmbeddingUnavailable(f"The key of embedding provider {provider_ref!r} cannot be decrypted.") from None
    if provider.kind != "openai":
        raise EmbeddingUnavailable(f"The embedding provider {provider_ref!r} is not OpenAI-compatible "
                                   f"(kind {provider.kind}).")
    return EmbeddingModel(provider=provider, model=model)
