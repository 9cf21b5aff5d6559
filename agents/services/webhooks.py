"""Webhooks: a secret URL that starts an async run of the agent without an API token.

The secret is ``secrets.token_urlsafe(32)``.  Its SHA-256 (hex) is what the
trigger compares, in constant time; the ciphertext (``core.crypto``) lets an
admin read the URL again.  Rotating replaces both, so the old URL stops
working at once; disabling clears both.  Starting the run is the executions
app's (``executions.services.triggers.webhook_trigger``).
"""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts.actor import Actor
from agents.models import Agent, AuditAction
from agents.selectors import Webhook, secret_hash
from agents.services.audit import audit_record
from core import crypto
from core.errors import NotFound


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


