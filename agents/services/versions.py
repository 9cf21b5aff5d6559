"""Versions: immutable snapshots of an agent's config and pipeline (API.md §7)."""

from __future__ import annotations

import difflib
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.config import public_config
from agents.models import Agent, AgentVersion, AuditAction
from agents.services.agents import agent_lock
from agents.services.audit import agent_snapshot, audit_record, diff
from core.errors import Conflict, NotFound, ValidationFailed

CHANGELOG_MAX = 1000
DRAFT = "draft"


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(config: dict, pipeline: dict | None) -> str:
    """SHA-256 of the canonical JSON of a definition: equal hashes, equal definitions."""
    document = canonical_json({"config": config, "pipeline": pipeline or {"nodes": [], "edges": []}})
    return hashlib.sha256(document.encode()).hexdigest()


def agent_content_hash(agent: Agent) -> str:
    return content_hash(agent.config, agent.pipeline)


def version_get(agent: Agent, index) -> AgentVersion:
    """Version ``index`` of the agent; 404 when it has none with that index."""
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise NotFound(f"This agent has no version {index}.")
    version = AgentVersion.objects.filter(agent=agent, index=index).select_related("author").first()
    if version is None:
        raise NotFound(f"This agent has no version {index}.")
    return version


def latest_version(agent: Agent) -> AgentVersion | None:
    return AgentVersion.objects.filter(agent=agent).order_by("-index").first()


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


def _definition(agent: Agent, ref) -> tuple[str, dict]:
    """``(label, {"config", "pipeline"})`` for a version index or ``draft``, secrets masked."""
    if str(ref) == DRAFT:
        config, pipeline, label = agent.config, agent.pipeline, DRAFT
    else:
        version = version_get(agent, ref)
        config, pipeline, label = version.config, version.pipeline, f"v{version.index}"
    return label, {"config": public_config(config), "pipeline": pipeline or {"nodes": [], "edges": []}}


def version_diff(agent: Agent, a, b) -> dict:
    """What changed from ``a`` to ``b`` (version indexes or ``draft``):
    ``changes`` maps dotted paths to ``{old, new}``; ``unified`` is a
    unified diff of the two definitions as indented JSON."""
    label_a, doc_a = _definition(agent, a)
    label_b, doc_b = _definition(agent, b)
    text_a = json.dumps(doc_a, indent=2, sort_keys=True, ensure_ascii=False).splitlines(keepends=True)
    text_b = json.dumps(doc_b, indent=2, sort_keys=True, ensure_ascii=False).splitlines(keepends=True)
    unified = "".join(difflib.unified_diff(text_a, text_b, fromfile=label_a, tofile=label_b))
    return {"a": label_a, "b": label_b, "changes": diff(doc_a, doc_b), "unified": unified}

