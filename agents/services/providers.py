"""Creating, changing and deleting LLM providers (testing one is
``executions.services.providers``).

Providers are shared by the whole installation, so only staff change them.
The API key is write-only: it is stored encrypted, and never logged, echoed
in an error or returned.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.fields import empty

from accounts.actor import Actor
from agents.errors import NameTaken
from agents.inputs.providers import ProviderWriteSerializer
from agents.models import Provider
from core import crypto
from core.errors import Forbidden, NotFound
from core.validation import validated

logger = logging.getLogger("agentry.providers")


def require_staff(user) -> None:
    """Providers serve every agent on the installation; only staff manage them."""
    if not getattr(user, "is_staff", False):
        raise Forbidden("Providers are shared by the whole installation; only staff users may change or test them.")


# --- validation -------------------------------------------------------------------


def provider_validate(*, provider: Provider | None = None, data=empty, **fields) -> dict:
    """``data`` (a request body as sent) or else the keyword ``fields``, checked
    by ``ProviderWriteSerializer`` and normalised for a create (``provider``
    None, ``name`` and ``kind`` required) or an update of ``provider``.
    Raises ``ValidationFailed`` with every problem, then ``NameTaken``."""
    body = fields if data is empty else data
    clean = dict(validated(ProviderWriteSerializer(provider, data=body, partial=provider is not None)))
    if "name" in clean:
        _ensure_name_free(clean["name"], exclude_pk=provider.pk if provider else None)
    return clean


def _ensure_name_free(name: str, exclude_pk=None) -> None:
    clash = Provider.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise NameTaken(f"A provider named {name!r} already exists.", errors={"name": ["Already in use."]})


def _save(provider: Provider, *, create: bool) -> None:
    """Insert or update, turning a lost race on the unique name into 409."""
    try:
        with transaction.atomic():
            provider.save(force_insert=create)
    except IntegrityError:
        raise NameTaken(f"A provider named {provider.name!r} already exists.", errors={"name": ["Already in use."]})


def _changes_apply(provider: Provider, clean: dict) -> list[str]:
    """Set the cleaned fields on ``provider``; the names of those that changed
    (``api_key`` as ``api_key set`` or ``api_key cleared``, never its value)."""
    changed = []
    for field in ("name", "kind", "base_url", "models"):
        if field in clean and getattr(provider, field) != clean[field]:
            setattr(provider, field, clean[field])
            changed.append(field)
    if "api_key" in clean:
        key = clean["api_key"]
        if key:
            provider.api_key_ciphertext = crypto.encrypt(key)
            changed.append("api_key set")
        elif provider.api_key_ciphertext:
            provider.api_key_ciphertext = ""
            changed.append("api_key cleared")
    return changed


def _who(actor: Actor) -> str:
    user = actor.user
    via = f" with token {actor.token.name!r}" if actor.token is not None else ""
    return f"{getattr(user, 'email', '') or getattr(user, 'username', '?')}{via}"


# --- writes ---------------------------------------------------------------------------


# Validation may resolve a base_url's host, so it runs before the transaction:
# on SQLite a write transaction holds the database's one write lock.

def provider_create(*, actor: Actor, data=empty, **fields) -> Provider:
    """Create a provider from ``data``, a request body as sent, or from the
    keyword fields: ``name``, ``kind`` and optional ``base_url``, ``api_key``
    and ``models``."""
    require_staff(actor.user)
    clean = provider_validate(data=data, **fields)
    provider = Provider(created_by=actor.user if getattr(actor.user, "pk", None) else None)
    changed = _changes_apply(provider, clean)
    _save(provider, create=True)
    logger.info("Provider %s (%s) created by %s: %s", provider.name, provider.pk, _who(actor), ", ".join(changed))
    return provider


def provider_update(*, actor: Actor, provider: Provider, data=empty, **fields) -> Provider:
    """Change some of a provider's fields (``data``, a request body as sent,
    or keyword fields).  ``api_key`` omitted keeps the key, ``""`` or ``None``
    clears it."""
    require_staff(actor.user)
    clean = provider_validate(provider=provider, data=data, **fields)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(pk=provider.pk).first()
        if provider is None:
            raise NotFound("Provider not found.")
        changed = _changes_apply(provider, clean)
        if changed:
            provider.updated_at = timezone.now()
            _save(provider, create=False)
    if changed:
        logger.info("Provider %s (%s) changed by %s: %s", provider.name, provider.pk, _who(actor),
                    ", ".join(changed))
    return provider


@transaction.atomic
def provider_delete(*, actor: Actor, provider: Provider) -> None:
    """Delete a provider.  Executions keep their own copy of the provider's
    name; agents that name it fail at run time until pointed elsewhere."""
    require_staff(actor.user)
    Provider.objects.filter(pk=provider.pk).delete()
    logger.info("Provider %s (%s) deleted by %s", provider.name, provider.pk, _who(actor))
