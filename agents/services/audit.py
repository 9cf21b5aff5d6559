"""Recording who changed what on an agent."""

from __future__ import annotations

from accounts.actor import Actor
from agents.config import public_config
from agents.models import Agent, AuditLogEntry


def agent_snapshot(agent: Agent, tags: list[str] | None = None) -> dict:
    """The fields an audit diff compares, secrets masked."""
    return {
        "name": agent.name,
        "slug": agent.slug,
        "description": agent.description,
        "tags": tags if tags is not None else agent.tag_names,
        "status": agent.status,
        "config": public_config(agent.config),
        "pipeline": agent.pipeline,
    }


def audit_record(*, agent: Agent, actor: Actor, action: str, changes: dict | None = None) -> AuditLogEntry:
    """Write one audit log entry for ``action`` by ``actor`` on ``agent``."""
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    return AuditLogEntry.objects.create(
        agent=agent,
        agent_ref=agent.pk,
        agent_slug=agent.slug,
        actor=user,
        actor_email=getattr(user, "email", "") or "",
        token=actor.token,
        token_name=actor.token.name if actor.token else "",
        action=action,
        changes=changes or {},
        ip=actor.ip,
        user_agent=actor.user_agent,
    )
