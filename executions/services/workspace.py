"""What the built-in tools write, behind the engine's ``Workspace`` protocol:
memories (``remember``) and artifacts (``save_artifact``) of the run's agent,
written as the run's user with the same services the API uses.  Also the
memory text a run's templates see as ``{{memory}}``."""

from __future__ import annotations

import json
import re

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from accounts.actor import Actor
from agents.memory_reads import memory_text, relevant_memories
from agents.models import Agent
from agents.services.memories import memory_create
from core.errors import ApiError
from executions.conversations.models import Message, Thread
from executions.engine.context import AgentDefinition, RunContext
from executions.services.artifacts import artifact_create

_MEMORY_NAME = re.compile(r"\bmemory\b")


def reads_memory(definition: AgentDefinition) -> bool:
    """Whether any template of ``definition`` may name ``memory``: the word
    anywhere in its pipeline or config (but the ``memory`` settings), so
    reading too often, never too rarely."""
    config = {key: value for key, value in definition.config.items() if key != "memory"}
    return _MEMORY_NAME.search(json.dumps([definition.pipeline, config], default=str)) is not None


def run_memory(agent: Agent, definition: AgentDefinition, run_input) -> str:
    """``{{memory}}`` for a run: the memories relevant to the input's message,
    when the definition has memory enabled and its templates may read it
    (only they see it); empty otherwise."""
    if not (definition.config.get("memory") or {}).get("enabled") or not reads_memory(definition):
        return ""
    message = run_input.get("message") if isinstance(run_input, dict) else None
    return memory_text(relevant_memories(agent, message if isinstance(message, str) else ""))


def _actor(user_id) -> Actor:
    return Actor(user=get_user_model().objects.filter(pk=user_id).first() if user_id else None)


def _remember(agent_id, user_id, execution_id, content) -> dict:
    agent = Agent.objects.get(pk=agent_id)
    try:
        memory = memory_create(agent, actor=_actor(user_id), content=content,
                               metadata={"source": "remember", "execution_id": str(execution_id)})
    except ApiError as refused:
        raise ValueError(refused.detail) from None
    return {"memory_id": str(memory.pk), "saved": True}


def _thread(agent_id, thread_id, execution_id) -> Thread | None:
    """The run's thread: the one it was given, else the one its chat messages are in."""
    if thread_id is None:
        thread_id = Message.objects.filter(execution_id=execution_id).values_list("thread_id", flat=True).first()
    return Thread.objects.filter(pk=thread_id, agent_id=agent_id).first() if thread_id else None


def _save_artifact(agent_id, user_id, execution_id, thread_id, fields: dict) -> dict:
    agent = Agent.objects.get(pk=agent_id)
    try:
        artifact = artifact_create(agent, actor=_actor(user_id), thread=_thread(agent_id, thread_id, execution_id),
                                   execution_id=execution_id, **fields)
    except ApiError as refused:
        raise ValueError(refused.detail) from None
    return {"artifact_id": str(artifact.pk), "title": artifact.title, "artifact_type": artifact.artifact_type,
            "saved": True}


class DatabaseWorkspace:
    """The engine's ``Workspace``: the agents and executions services, off the event loop."""

    async def remember(self, ctx: RunContext, content: str) -> dict:
        return await sync_to_async(_remember)(ctx.agent.id, ctx.user_id, ctx.execution_id, content)

    async def save_artifact(self, ctx: RunContext, *, title: str, content: str, artifact_type: str,
                            summary: str, tags: list[str]) -> dict:
        fields = {"title": title, "content": content, "artifact_type": artifact_type, "summary": summary,
                  "tags": tags}
        return await sync_to_async(_save_artifact)(ctx.agent.id, ctx.user_id, ctx.execution_id, ctx.thread_id,
                                                   fields)
