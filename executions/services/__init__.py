"""Writes and rules for providers (and, with the engine, executions)."""

from executions.services.providers import (  # noqa: F401
    provider_create,
    provider_delete,
    provider_test,
    provider_update,
    provider_validate,
    require_staff,
)
