"""Webhooks: a secret URL that starts an async run of the agent without an API token.

The secret is ``secrets.token_urlsafe(32)``.  Its SHA-256 (hex) is what the
trigger compares, in constant time; the ciphertext (``core.crypto``) lets an
admin read the URL again.  Rotating replaces both, so the old URL stops
working at once; disabling clears both.  Starting the run is the executions
app's (``executions.services.triggers.webhook_trigger``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction

from accounts.actor import Actor
from agents.models import Agent, AuditAction
from agents.selectors import agent_ref_filter
from agents.services.audit import audit_record
from core import crypto
from core.errors import NotFound

# Never equal to a real secret's hash: the comparison for an unknown agent
# costs what a real one does, so timing tells nothing either.
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class Webhook:
    """An agent's webhook as its admins see it; ``secret`` is ``None`` when
    disabled (or when the encryption key changed and it cannot be read)."""

    enabled: bool
    secret: str | None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def webhook_get(agent: Agent) -> Webhook:
    """The agent's webhook with its secret decrypted."""
    if not agent.webhook_secret_hash:
        return Webhook(enabled=False, secret=None)
    try:
        secret = crypto.decrypt(agent.webhook_secret_ciphertext)
    except ValueError:
        secret = None
    return Webhook(enabled=True, secret=secret)


@transaction.atomic
def webhook_rotate(*, agent: Agent, actor: Actor) -> Webhook:
    """Create the webhook, or replace its secret (the old URL stops working)."""
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    secret = secrets.token_urlsafe(32)
    was_enabled = bool(agent.webhook_secret_hash)
    Agent.objects.filter(pk=agent.pk).update(webhook_secret_hash=secret_hash(secret),
                                             webhook_secret_ciphertext=crypto.encrypt(secret))
    # The audit entry says that the secret changed, never what it is.
    audit_record(agent=agent, actor=actor, action=AuditAction.WEBHOOK_ROTATED,
                 changes={"webhook.enabled": {"old": was_enabled, "new": True},
                          "webhook.secret": {"old": "(hidden)" if was_enabled else None, "new": "(hidden)"}})
    return Webhook(enabled=True, secret=secret)


@transaction.atomic
def webhook_disable(*, agent: Agent, actor: Actor) -> None:
    """Turn the webhook off: its URL answers 404 until the next rotation."""
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if not agent.webhook_secret_hash:
        raise NotFound("This agent has no webhook.")
    Agent.objects.filter(pk=agent.pk).update(webhook_secret_hash="", webhook_secret_ciphertext="")
    audit_record(agent=agent, actor=actor, action=AuditAction.AGENT_UPDATED,
                 changes={"webhook.enabled": {"old": True, "new": False}})


def webhook_agent(*, ref: str, secret: str) -> Agent:
    """The agent whose webhook ``secret`` is, by id or slug; 404 for an
    unknown agent, a disabled webhook and a wrong secret alike."""
    agent = Agent.objects.select_related("owner").filter(agent_ref_filter(ref)).first()
    stored = (agent.webhook_secret_hash if agent is not None else "") or _NO_HASH
    matches = hmac.compare_digest(stored, secret_hash(secret or ""))
    if agent is None or not agent.webhook_secret_hash or not matches:
        raise NotFound("Not found.")
    return agent
