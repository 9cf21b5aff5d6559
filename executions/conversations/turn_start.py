"""What a chat turn starts with: its message taken from the thread's pending
ones and its execution started, in one trip to the database thread (the
driver's opening or its previous turn's last trip), so the turn's first trip
of its own is the model's."""

from __future__ import annotations

import dataclasses

from django.utils import timezone

from accounts.actor import Actor
from agents.memory_reads import memory_text, relevant_memories
from agents.models import Agent, AgentStatus, RuntimeState
from core import rows
from core.errors import ApiError
from executions.conversations.context import window_reads
from executions.conversations.models import Message, MessageStatus, Thread
from executions.conversations.selectors import next_pending_message
from executions.engine.nodes import TOOLS
from executions.knowledge.selectors import agent_has_ready_documents
from executions.models import Trigger
from executions.services.execute import run_inputs
from executions.services.runs import execution_start, run_request

BUILTIN_TOOLS = ("remember", "save_artifact", "knowledge_search")


@dataclasses.dataclass
class Turn:
    """A message taken to be answered, and what starting its execution gave,
    in the same trip to the database thread: the execution with what its run
    reads (``start_execution``), the problem that stopped it, or ``None`` for
    a command or an agent that can no longer chat (answered without one)."""

    message: Message
    start: tuple | ApiError | None = None


def next_turn(thread_id) -> Turn | None:
    """The next message to answer (``next_pending_message``), joining the
    conversation now: after the turns ahead of it, so a message sent during
    another turn is ordered after its answer; and its execution, started."""
    message = next_pending_message(thread_id)
    if message is None:
        return None
    message.status, message.created_at = MessageStatus.COMPLETED, timezone.now()
    rows.update(Message, message.pk, {"status": message.status, "created_at": message.created_at})
    if message.command or not can_chat(message.thread.agent):
        return Turn(message)
    try:
        return Turn(message, start_execution(message.thread.agent, message.thread, message))
    except ApiError as exc:
        return Turn(message, exc)


def can_chat(agent: Agent) -> bool:
    """Whether the agent still answers chat turns: active and running."""
    return agent.status == AgentStatus.ACTIVE and agent.runtime_state == RuntimeState.RUNNING


def start_execution(agent: Agent, thread: Thread, message: Message):
    """The turn's execution: the deployed version (the agent is running),
    with the session's model when the thread overrides it; what the agent
    remembers that bears on the message; and what the turn's context reads
    (``window_reads``): all in the one trip to the database thread."""
    request = run_request(agent, input={"message": message.content})
    execution, _created = execution_start(agent=agent, actor=Actor(user=thread.created_by), request=request,
                                          trigger=Trigger.CHAT)
    rows.update(Thread, thread.pk, {"active_execution": execution.pk})
    definition = execution.definition
    has_knowledge = agent_has_ready_documents(agent)
    config = {**definition.config, "tools": chat_tools(definition.config, knowledge=has_knowledge)}
    if thread.model_override:
        config["model"] = {**config["model"], **thread.model_override}
    definition = dataclasses.replace(definition, config=config)
    execution.inputs = run_inputs(execution, definition)  # read here, while the thread is ours
    memory = agent_memory(agent, config, message.content)
    return execution, definition, memory, window_reads(agent, thread, config, memory)


def chat_tools(config: dict, *, knowledge: bool = False) -> list[dict]:
    """The agent's tools plus the built-ins every chat has: ``remember`` (when
    its memory is on), ``save_artifact``, and ``knowledge_search`` when it has
    documents ready, unless it lists them itself."""
    tools = list(config.get("tools", []))
    taken = {tool["id"] for tool in tools} | {tool["type"] for tool in tools}
    builtins = [kind for kind in BUILTIN_TOOLS if kind in TOOLS and kind not in taken]
    if not config.get("memory", {}).get("enabled", True) and "remember" in builtins:
        builtins.remove("remember")
    if not knowledge and "knowledge_search" in builtins:
        builtins.remove("knowledge_search")
    return tools + [{"id": kind, "type": kind, "description": "", "config": {}} for kind in builtins]


def agent_memory(agent: Agent, config: dict, text: str) -> str:
    """What the agent remembers that bears on ``text``, when its memory is on."""
    if not config.get("memory", {}).get("enabled", True):
        return ""
    return memory_text(relevant_memories(agent, text))
