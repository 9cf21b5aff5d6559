"""Reads of an agent's memories: the API's list, and what a run remembers.

``relevant_memories`` picks what goes into a prompt: the agent's rules
first, then its other memories ranked by how many words they share with
the query, newest first among equals.  It reads a bounded candidate set (the
newest ``CANDIDATES``), never the whole table, so a long-lived agent costs
the same per turn as a new one.  ``memory_text`` renders them for a system
prompt or a ``{{memory}}`` template."""

from __future__ import annotations

import re
import uuid

from django.db.models import QuerySet

from agents.models import Agent, Memory, MemoryKind
from core.errors import NotFound

CANDIDATES = 500  # how many recent memories relevant_memories ranks
_WORD = re.compile(r"\w+")


def memories_for(agent: Agent) -> QuerySet[Memory]:
    """The agent's memories, newest first."""
    return Memory.objects.filter(agent=agent).order_by("-created_at", "-id")


def memory_get_for_agent(agent: Agent, memory_id) -> Memory:
    """One of the agent's memories; 404 for another agent's, an unknown id or a non-UUID."""
    try:
        pk = uuid.UUID(str(memory_id))
    except ValueError:
        raise NotFound("Memory not found.") from None
    memory = Memory.objects.filter(agent=agent, pk=pk).first()
    if memory is None:
        raise NotFound("Memory not found.")
    memory.agent = agent
    return memory


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if len(word) > 1}


def relevant_memories(agent: Agent, query: str, *, limit: int = 10) -> list[Memory]:
    """Up to ``limit`` memories for a prompt about ``query``: rules first
    (newest first), then the rest by word overlap with ``query``, then recency."""
    if limit <= 0:
        return []
    rules = list(memories_for(agent).filter(kind=MemoryKind.RULE)[:limit])
    room = limit - len(rules)
    if room <= 0:
        return rules
    candidates = list(memories_for(agent).exclude(kind=MemoryKind.RULE)[:CANDIDATES])
    wanted = _words(query or "")
    # sorted() is stable: among equal overlaps the newest-first order stays.
    ranked = sorted(candidates, key=lambda memory: -len(wanted & _words(memory.content))) if wanted else candidates
    return rules + ranked[:room]


def memory_text(memories) -> str:
    """One line per memory, rules marked, for a system prompt or ``{{memory}}``."""
    lines = []
    for memory in memories:
        content = " ".join(memory.content.split())
        lines.append(f"- [rule] {content}" if memory.kind == MemoryKind.RULE else f"- {content}")
    return "\n".join(lines)
