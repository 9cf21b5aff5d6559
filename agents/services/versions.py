"""Versions: immutable snapshots of an agent's config and pipeline (API.md §7)."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.models import Agent, AgentVersion, AuditAction
from agents.selectors import latest_version, version_get
from agents.services.agents import agent_lock
from agents.services.audit import agent_snapshot, audit_record
from core.diffs import diff
from core.errors import Conflict, ValidationFailed

CHANGELOG_MAX = 1000


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(config: dict, pipeline: dict | None) -> str:
    """SHA-256 of the canonical JSON of a definition: equal hashes, equal definitions."""
    document = canonical_json({"config": config, "pipeline": pipeline or {"nodes": [], "edges": []}})
    return hashlib.sha256(document.encode()).hexdigest()


def agent_content_hash(agent: Agent) -> str:
    return content_hash(agent.config, agent.pipeline)


def _snapshot(agent: Agent, *, author, changelog: str) -> AgentVersion:
    """Write the next version of ``agent`` (called with the agent row locked)."""
    latest = AgentVersion.objects.filter(agent=agent).order_by("-index").values_list("index", flat=True).first()
    try:
        with transaction.atomic():
            return AgentVersion.objects.create(
                agent=agent, index=(latest or 0) + 1, config=agent.config,
                pipeline=agent.pipeline or {"nodes": [], "edges": []}, changelog=changelog,
                content_hash=agent_content_hash(agent), author=author, created_at=timezone.now(),
            )
    except IntegrityError:  # only without a row lock; callers hold one
        raise Conflict("Another version was saved at the same time; try again.")


def _author(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None


def _check_changelog(changelog) -> str:
    if changelog is None:
        return ""
    if not isinstance(changelog, str) or len(changelog) > CHANGELOG_MAX:
        raise ValidationFailed(f"changelog must be text of at most {CHANGELOG_MAX} characters.",
                               errors={"changelog": [f"At most {CHANGELOG_MAX} characters of text."]})
    return changelog.strip()


@transaction.atomic
def version_save(*, agent: Agent, actor: Actor, changelog: str = "") -> AgentVersion:
    """Snapshot the working config and pipeline as the next version, always
    (even unchanged: saving is an explicit act with its own changelog)."""
    changelog = _check_changelog(changelog)
    agent = agent_lock(agent)
    version = _snapshot(agent, author=_author(actor), changelog=changelog)
    _touch(agent)
    audit_record(agent=agent, actor=actor, action=AuditAction.VERSION_SAVED,
                 changes={"version": {"old": None, "new": version.index},
                          "changelog": {"old": None, "new": changelog}})
    return version


def version_for_deploy(agent: Agent, *, actor: Actor, changelog: str) -> AgentVersion:
    """The version that matches the working definition: the latest when its
    hash is the same, else a new snapshot.  The agent row must be locked."""
    latest = latest_version(agent)
    if latest is not None and latest.content_hash == agent_content_hash(agent):
        return latest
    return _snapshot(agent, author=_author(actor), changelog=changelog)


@transaction.atomic
def version_rollback(*, agent: Agent, actor: Actor, index) -> Agent:
    """Copy version ``index`` into the working config and pipeline (audited
    with the diff).  The deployed version does not change until a redeploy."""
    agent = agent_lock(agent)
    version = version_get(agent, index)
    before = agent_snapshot(agent)
    agent.config, agent.pipeline = version.config, version.pipeline
    after = agent_snapshot(agent, before["tags"])
    changes = diff(before, after)
    agent.updated_at = agent.last_activity = timezone.now()
    agent.revision += 1
    agent.save(update_fields=["config", "pipeline", "updated_at", "last_activity", "revision"])
    audit_record(agent=agent, actor=actor, action=AuditAction.VERSION_ROLLED_BACK,
                 changes={"rolled_back_to": {"old": None, "new": version.index}, **changes})
    return agent


def _touch(agent: Agent) -> None:
    Agent.objects.filter(pk=agent.pk).update(last_activity=timezone.now())


