"""Webhooks: a secret URL that starts an async run of the agent without an API token.

The secret is ``secrets.token_urlsafe(32)``.  Its SHA-256 (hex) is what the
trigger compares, in constant time; the ciphertext (``core.crypto``) lets an
admin read the URL again.  Rotating replaces both, so the old URL stops
working at once; disabling clears both.  Webhook runs are attributed to the
agent's owner (subagents need a user behind the run) and limited to
``AGENTRY_WEBHOOK_RATE_PER_MINUTE`` per agent per rolling minute, counted from
the executions table so every web process sees the same count.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.models import Agent, AuditAction
from agents.selectors import agent_ref_filter
from agents.services.audit import audit_record
from core import crypto
from core.errors import ApiError, NotFound
from executions.models import Execution, Trigger
from executions.services import runs
from executions.tasks import enqueue

RATE_WINDOW = timedelta(minutes=1)
# Never equal to a real secret's hash: the comparison for an unknown agent
# costs what a real one does, so timing tells nothing either.
_NO_HASH = "0" * 64


class WebhookRateLimited(ApiError):
    status, code = 429, "rate_limited"


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


def webhook_trigger(*, agent: Agent, body: dict, idempotency_key: str = "",
                    correlation_id: str = "") -> tuple[Execution, bool]:
    """Queue a run with ``body`` as its input (``trigger=webhook``); returns
    ``(execution, created)``.  ``idempotency_key`` replays like ``/run``;
    409 ``agent_not_active`` for a paused agent; 429 past the rate limit."""
    run_as = Actor(user=agent.owner)
    request = runs.run_request(agent, input=body)
    with transaction.atomic():
        # One webhook start at a time per agent, so the count below is exact.
        list(Agent.objects.select_for_update().filter(pk=agent.pk).values_list("pk", flat=True))
        execution, created = runs.execution_start(
            agent=agent, actor=run_as, request=request, trigger=Trigger.WEBHOOK, queued=True,
            idempotency_key=_namespaced(idempotency_key), correlation_id=correlation_id)
        if created:
            _check_rate(agent)  # raising rolls the new execution back
            enqueue(execution)
    if created:
        execution.refresh_from_db(fields=["status"])  # failed at once when the broker refused it
    return execution, created


def _namespaced(key: str) -> str:
    """The key in its own namespace, so the owner's own ``/run`` keys never
    replay a webhook run (or the reverse); hashed when it would not fit."""
    if not key:
        return ""
    if len(key) > 255 - len("webhook:"):
        key = hashlib.sha256(key.encode()).hexdigest()
    return f"webhook:{key}"


def _check_rate(agent: Agent) -> None:
    limit = settings.AGENTRY_WEBHOOK_RATE_PER_MINUTE
    now = timezone.now()
    recent = Execution.objects.filter(agent=agent, trigger=Trigger.WEBHOOK, created_at__gt=now - RATE_WINDOW)
    if recent.count() <= limit:
        return
    oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
    wait = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
    raise WebhookRateLimited(f"This agent accepts at most {limit} webhook runs a minute; retry in {wait} s.",
                             headers={"Retry-After": str(wait)})
