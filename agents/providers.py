"""The providers catalogue: which LLM providers an agent's config may name.

The built-in kinds (``echo``, ``openai``, ``anthropic``, keyed from the
environment) and the provider records configured on the installation, looked
up by id or name.  Writes are in ``agents.services.providers``; turning a
reference into what an LLM client needs is the executions app's job
(``executions.selectors.resolve_provider``)."""

from __future__ import annotations

import re
import uuid

from django.db.models import Q, QuerySet

from agents.models import Provider, ProviderKind
from core.errors import NotFound
from core.rows import row_by

# One built-in provider per kind, named after it, in the order messages list them.
BUILTIN_PROVIDERS = tuple(kind.value for kind in (ProviderKind.ECHO, ProviderKind.OPENAI, ProviderKind.ANTHROPIC))
PROVIDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _named(ref) -> tuple[str, object] | None:
    """``("id", uuid)`` when ``ref`` is a UUID, else ``("name", ref)``; ``None``
    for a ref that can be neither (no query the database might reject)."""
    try:
        return "id", uuid.UUID(str(ref))
    except ValueError:
        return ("name", ref) if isinstance(ref, str) and PROVIDER_NAME_RE.match(ref) else None


def _ref_filter(ref) -> Q:
    named = _named(ref)
    return Q(**{named[0]: named[1]}) if named is not None else Q(pk__in=[])


def provider_list() -> QuerySet[Provider]:
    """Every configured provider (they are installation-wide)."""
    return Provider.objects.all()


def provider_find(ref: str) -> Provider | None:
    """The provider row with id or name ``ref``, or ``None``.  Every run reads
    its providers, so this is a statement written once per process
    (``core.rows.row_by``): the ORM's ``filter().first()`` took ten times
    what the database takes to answer."""
    named = _named(ref)
    return row_by(Provider, *named) if named is not None else None


def provider_get(ref: str) -> Provider:
    """The provider row with id or name ``ref``; 404 otherwise."""
    provider = provider_find(ref)
    if provider is None:
        raise NotFound("Provider not found.")
    return provider


def provider_row_exists(ref: str) -> bool:
    """Whether a provider row has id or name ``ref``."""
    return Provider.objects.filter(_ref_filter(ref)).exists()


def provider_names() -> list[str]:
    """The names of the configured provider rows, sorted."""
    return list(Provider.objects.order_by("name").values_list("name", flat=True))


def provider_is_known(ref: str) -> bool:
    """Whether an agent's config may name ``ref`` as its provider."""
    return ref in BUILTIN_PROVIDERS or provider_row_exists(ref)


def known_providers() -> list[str]:
    """Every name an agent's config may use: the built-ins, then the rows."""
    return [*BUILTIN_PROVIDERS, *provider_names()]


def model_catalogue() -> list[dict]:
    """Every provider an agent's config may name, with the models it accepts:
    ``{"name", "models"}`` where ``models`` lists a provider row's models, or
    is ``None`` when any name goes (the built-ins, rows that list none)."""
    rows = Provider.objects.order_by("name").only("name", "models")
    listed = [{"name": row.name, "models": [m["name"] for m in row.models or [] if m.get("name")] or None}
              for row in rows]
    return [*({"name": name, "models": None} for name in BUILTIN_PROVIDERS), *listed]
