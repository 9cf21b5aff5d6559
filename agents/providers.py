"""Which LLM providers an agent's config may name: the built-in kinds, and
the provider records configured on the installation (by id or name)."""

BUILTIN_PROVIDERS = ("echo", "openai", "anthropic")


def provider_is_known(ref: str) -> bool:
    if ref in BUILTIN_PROVIDERS:
        return True
    # Imported here: the executions app builds on agents, not the other way round.
    from executions.selectors import provider_row_exists

    return provider_row_exists(ref)


def known_providers() -> list[str]:
    from executions.selectors import provider_names

    return [*BUILTIN_PROVIDERS, *provider_names()]
