"""Writing and forgetting an agent's memories (API ``/agents/{agent}/memories``,
the chat's ``/remember``, the ``remember`` tool).  Reads are ``agents.memory_reads``."""

from __future__ import annotations

from django.db import transaction

from accounts.actor import Actor
from agents.inputs.memories import MemoryFieldsSerializer
from agents.models import Agent, AuditAction, Memory, MemoryKind
from agents.services.audit import audit_record
from core.diffs import diff
from core.validation import validated


def _snapshot(memory: Memory) -> dict:
    return {"id": str(memory.pk), "kind": memory.kind, "content": memory.content, "metadata": memory.metadata}


@transaction.atomic
def memory_create(agent: Agent, *, actor: Actor, content: str, kind: str = MemoryKind.SEMANTIC,
                  metadata: dict | None = None) -> Memory:
    """Store a memory for the agent (validated: 1–10,000 characters, no NUL,
    a known kind); raises ``ValidationFailed`` with field errors."""
    clean = validated(MemoryFieldsSerializer(data={"content": content, "kind": kind,
                                                   "metadata": {} if metadata is None else metadata}))
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    memory = Memory.objects.create(agent=agent, created_by=user, **clean)
    audit_record(agent=agent, actor=actor, action=AuditAction.MEMORY_CREATED,
                 changes=diff({}, {"memory": _snapshot(memory)}))
    return memory


@transaction.atomic
def memory_delete(memory: Memory, *, actor: Actor) -> None:
    """Forget a memory."""
    audit_record(agent=memory.agent, actor=actor, action=AuditAction.MEMORY_DELETED,
                 changes=diff({"memory": _snapshot(memory)}, {}))
    memory.delete()
