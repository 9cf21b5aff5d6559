"""Which client speaks to a provider: one per provider kind."""

from __future__ import annotations

from core.netguard import guarded_async_client

from .base import LLMClient, ProviderError, ProviderSettings
from .echo import EchoClient


def client_for(settings: ProviderSettings, http_client=None) -> LLMClient:
    """The client for ``settings.kind``; the caller closes it with ``aclose()``.

    Without ``http_client``, traffic goes through the network guard, which
    refuses private addresses unless ``AGENTRY_ALLOWED_PRIVATE_HOSTS`` allows
    them: an aiohttp session for the OpenAI wire (``core.guarded_aiohttp``),
    an httpx client under the Anthropic SDK (``core.netguard``); the LLM
    client owns it.  A passed ``http_client`` (an ``aiohttp.ClientSession``
    for ``openai``, an httpx client for ``anthropic``) stays the caller's to close.
    """
    if settings.kind == "echo":
        return EchoClient(settings)
    # The SDKs take a while to import, so a process loads only those its providers use.
    if settings.kind == "openai":
        from .openai_client import OpenAIClient as client_class
    elif settings.kind == "anthropic":
        from .anthropic_client import AnthropicClient as client_class
    else:
        raise ProviderError(f"{settings.name}: unknown provider kind {settings.kind!r}")
    if http_client is not None:
        return client_class(settings, http_client)
    if settings.kind == "openai":
        return client_class(settings)  # its guarded session is made on the loop of its first call
    return client_class(settings, guarded_async_client(settings.timeout_seconds), owns_http_client=True)
