"""Saving and deleting an agent's artifacts (``/agents/{agent}/artifacts``
and the ``save_artifact`` tool).  Reads are ``executions.artifacts``."""

from __future__ import annotations

from django.db import transaction

from accounts.actor import Actor
from agents.models import Agent, AuditAction, Skill
from agents.selectors import skills_visible_to
from agents.services.audit import audit_record
from core.diffs import diff
from core.errors import PayloadTooLarge, ValidationFailed
from core.validation import validated
from executions.conversations.models import Thread
from executions.inputs import ArtifactFieldsSerializer
from executions.models import Artifact

ARTIFACT_CONTENT_MAX_BYTES = 2 * 1024 * 1024


def _check_size(content) -> None:
    # Four bytes per character at most: only a long string needs encoding to measure.
    if isinstance(content, str) and len(content) * 4 > ARTIFACT_CONTENT_MAX_BYTES \
            and len(content.encode("utf-8", "surrogatepass")) > ARTIFACT_CONTENT_MAX_BYTES:
        raise PayloadTooLarge(f"An artifact's content may be at most {ARTIFACT_CONTENT_MAX_BYTES} bytes.",
                              errors={"content": [f"At most {ARTIFACT_CONTENT_MAX_BYTES} bytes (UTF-8)."]})


def _user(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None


@transaction.atomic
def artifact_create(agent: Agent, *, actor: Actor, title: str, content: str, artifact_type: str = "html_report",
                    thread: Thread | None = None, summary: str = "", skill: Skill | None = None,
                    tags: list | None = None, metadata: dict | None = None, execution_id=None) -> Artifact:
    """Save an artifact for the agent (validated; 413 over 2 MB of content).
    ``thread`` must be one of the agent's threads."""
    _check_size(content)
    clean = validated(ArtifactFieldsSerializer(data={
        "title": title, "content": content, "artifact_type": artifact_type, "summary": summary,
        "tags": [] if tags is None else tags, "metadata": {} if metadata is None else metadata}))
    if thread is not None and thread.agent_id != agent.pk:
        raise ValidationFailed("thread_id: Not a thread of this agent.",
                               errors={"thread_id": ["Not a thread of this agent."]})
    artifact = Artifact.objects.create(agent=agent, thread=thread, skill=skill, execution_id=execution_id,
                                       created_by=_user(actor), **clean)
    audit_record(agent=agent, actor=actor, action=AuditAction.ARTIFACT_CREATED,
                 changes=diff({}, {"artifact": _snapshot(artifact)}))
    return artifact


def artifact_save(agent: Agent, *, actor: Actor, data) -> Artifact:
    """``POST /agents/{agent}/artifacts``: the body as sent, its thread and
    skill ids resolved (a thread of this agent; a skill the caller can see)."""
    _check_size(data.get("content") if isinstance(data, dict) else None)
    clean = dict(validated(ArtifactFieldsSerializer(data=data)))
    thread_id, skill_id = clean.pop("thread_id", None), clean.pop("skill_id", None)
    thread = skill = None
    if thread_id is not None:
        thread = Thread.objects.filter(agent=agent, pk=thread_id).first()
        if thread is None:
            raise ValidationFailed("thread_id: Not a thread of this agent.",
                                   errors={"thread_id": ["Not a thread of this agent."]})
    if skill_id is not None:
        skill = skills_visible_to(actor.user).filter(pk=skill_id).first()
        if skill is None:
            raise ValidationFailed("skill_id: No skill with this id in your library.",
                                   errors={"skill_id": ["No skill with this id in your library."]})
    return artifact_create(agent, actor=actor, thread=thread, skill=skill, **clean)


@transaction.atomic
def artifact_delete(artifact: Artifact, *, actor: Actor) -> None:
    """Delete an artifact."""
    audit_record(agent=artifact.agent, actor=actor, action=AuditAction.ARTIFACT_DELETED,
                 changes=diff({"artifact": _snapshot(artifact)}, {}))
    artifact.delete()


def _snapshot(artifact: Artifact) -> dict:
    return {"id": str(artifact.pk), "title": artifact.title, "artifact_type": artifact.artifact_type,
            "thread_id": str(artifact.thread_id) if artifact.thread_id else None,
            "execution_id": str(artifact.execution_id) if artifact.execution_id else None}
