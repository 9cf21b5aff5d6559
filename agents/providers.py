"""Which LLM providers an agent's config may name.

The built-in kinds are always known; configured provider records join them
when the execution engine brings the provider registry.
"""

BUILTIN_PROVIDERS = ("echo", "openai", "anthropic")


def provider_is_known(ref: str) -> bool:
    return ref in BUILTIN_PROVIDERS


def known_providers() -> list[str]:
    return list(BUILTIN_PROVIDERS)
