"""Answering one message: a chat turn's execution started, run, and stored as
the answer, with the events its stream shows (API.md §6).

The driver (``driver``) takes the thread's messages one at a time and hands
each to :func:`turn_take`, in the trip to the database thread that took it,
then to :func:`run_turn` on the turn loop.  A turn is a slash command
(answered here, no model) or an execution (trigger ``chat``) of the agent's
deployed version, run by the engine with the thread's history, streaming as
it goes.
"""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import F
from django.utils import timezone

from accounts.actor import Actor
from agents.memory_reads import memory_text, relevant_memories
from agents.models import Agent, AgentStatus, RuntimeState
from core import rows
from core.errors import ApiError, problem_body
from core.shared_thread import others_waiting
from executions.conversations import commands
from executions.conversations import journal as events
from executions.conversations.context import turn_context, window_reads
from executions.conversations.journal import Journal
from executions.conversations.models import DEFAULT_TITLE, Message, MessageRole, MessageStatus, Thread
from executions.conversations.recorder import ChatRecorder
from executions.engine.nodes import TOOLS
from executions.engine.templating import as_text
from executions.knowledge.selectors import agent_has_ready_documents
from executions.models import Execution, ExecutionStatus, ExecutionStep, Trigger
from executions.services.execute import run_inputs
from executions.services.outcomes import execution_as_settled
from executions.services.recording import DatabaseRecorder
from executions.services.runs import execution_execute, execution_start, run_request

logger = logging.getLogger("agentry.conversations")

BUILTIN_TOOLS = ("remember", "save_artifact", "knowledge_search")
TITLE_WORDS = 6
TITLE_CHARS = 60
# How an unsuccessful turn reads as a problem (API.md §1 statuses).
FAILURE_STATUS = {"provider_error": 502, "timeout": 504, "validation_error": 422, "pipeline_error": 422,
                  "agent_not_running": 409, "agent_not_active": 409, "cancelled": 409}


@dataclasses.dataclass(frozen=True)
class Turn:
    """A message taken to be answered and, when the model answers it, what
    ``_start_execution`` returned for it, or raised."""

    message: Message
    started: tuple | None = None  # the execution, definition, memory and context reads
    failure: Exception | None = None


def turn_take(message: Message) -> Turn:
    """``message``'s turn, taken in a trip to the database thread.  When no
    other call waits for that thread (``core.shared_thread``), the turn's
    execution starts in this same trip (:func:`turn_started`), so the model is
    called without a trip of the turn's own; otherwise :func:`run_turn` starts
    it in a trip of its own, and the calls queued behind this one do not wait
    for it."""
    turn = Turn(message)
    return turn if others_waiting() else turn_started(turn)


def turn_started(turn: Turn) -> Turn:
    """``turn`` with its execution started, when the model answers it (not a
    command, and the agent can chat), or with what starting it raised, for
    :func:`run_turn` to report as the turn's failure as it would its own."""
    message = turn.message
    agent = message.thread.agent
    if message.command or _refusal(agent) is not None:
        return turn
    try:
        return dataclasses.replace(turn, started=_start_execution(agent, message.thread, message))
    except Exception as exc:  # reported by run_turn, on the turn loop
        return dataclasses.replace(turn, failure=exc)


def _user_message_data(message: Message) -> dict:
    return {"message": {"id": str(message.pk), "role": message.role, "content": message.content,
                        "created_at": message.created_at.isoformat().replace("+00:00", "Z")}}


def _refusal(agent: Agent) -> dict | None:
    """Why ``agent`` can no longer chat (it was deactivated or stopped since
    the message was sent), as the turn's error; ``None`` when it can."""
    gone = f"Agent {agent.slug!r} can no longer chat: it is"
    if agent.status != AgentStatus.ACTIVE:
        return {"code": "agent_not_active", "message": f"{gone} {agent.status}."}
    if agent.runtime_state != RuntimeState.RUNNING:
        return {"code": "agent_not_running", "message": f"{gone} stopped."}
    return None


async def run_turn(journal: Journal, turn: Turn) -> None:
    """Answer ``turn``'s message (taken with its thread and agent by
    :func:`turn_take`, its execution started there or here)."""
    message = turn.message
    thread = message.thread
    turn_id = str(message.pk)
    await journal.emit(events.MESSAGE_CREATED, {**_user_message_data(message), "message_id": turn_id})
    if message.command:
        await _answer_command(journal, thread, message)
        return
    agent = thread.agent
    refusal = _refusal(agent)
    if refusal is None and turn.started is None and turn.failure is None:  # the thread was busy as it was taken
        turn = await sync_to_async(turn_started)(turn)
    if isinstance(turn.failure, ApiError):  # execution_start refused the turn (a bad input, no provider)
        refusal = {"code": turn.failure.code, "message": turn.failure.detail}
    if refusal is not None:
        await _finish(journal, thread, message, content="", status=MessageStatus.FAILED, error=refusal)
        return
    if turn.failure is not None:
        raise turn.failure  # a crash, reported as one by the driver
    execution, definition, memory, reads = turn.started
    context = await turn_context(agent=agent, thread=thread, config=definition.config, user_text=message.content,
                                 memory=memory, before=message.created_at, reads=reads)
    recorder = ChatRecorder(DatabaseRecorder(execution.pk), journal, turn_id=turn_id, execution_id=execution.pk)
    # The row execution_start has just written, with its agent: not read again.  Its outcome is
    # read in the trip that finishes it.
    execution, provider, model = await execution_execute(
        execution.pk, definition=definition, recorder=recorder, stream_deltas=True,
        context={"history": context.history, "system_context": context.system_context, "thread_id": thread.pk},
        execution=execution, inputs=execution.inputs, then=lambda finished: _outcome(finished, recorder))
    usage = (execution.tokens_prompt + context.tokens_prompt, execution.tokens_completion + context.tokens_completion,
             execution.cost_usd + context.cost_usd)
    if execution.status == ExecutionStatus.SUCCEEDED:
        content, status, error = as_text(execution.output), MessageStatus.COMPLETED, None
    elif execution.status == ExecutionStatus.CANCELLED:
        content, status, error = recorder.text, MessageStatus.CANCELLED, None
    else:
        content, status, error = recorder.text, MessageStatus.FAILED, execution.error
    await _finish(journal, thread, message, content=content, status=status, error=error, execution=execution,
                  usage=usage, provider=provider, model=model, ttft_ms=recorder.ttft_ms,
                  tool_calls=recorder.tool_calls, citations=execution.citations or [])


def _start_execution(agent: Agent, thread: Thread, message: Message):
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
    memory = _memory(agent, config, message.content)
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


def _memory(agent: Agent, config: dict, text: str) -> str:
    """What the agent remembers that bears on ``text``, when its memory is on."""
    if not config.get("memory", {}).get("enabled", True):
        return ""
    return memory_text(relevant_memories(agent, text))


def _outcome(execution: Execution, recorder: ChatRecorder) -> tuple[Execution, str, str]:
    """The turn's execution with its outcome (status, output, totals) and the
    provider and model of its last model call, on the database thread in the
    trip that finishes it.  As this run settled it, the row is the one in
    hand, and the recorder saw the steps: no read.  If someone else settled
    it first (a cancel, the reaper), their outcome is read."""
    if execution.status != ExecutionStatus.RUNNING:
        return (execution, *recorder.model_used)
    execution = execution_as_settled(execution)
    step = (ExecutionStep.objects.filter(execution=execution).exclude(model="").order_by("-sequence")
            .values_list("provider", "model").first())
    return (execution, *(step or ("", "")))


async def _answer_command(journal: Journal, thread: Thread, message: Message) -> None:
    personality = thread.personality
    answer = await commands.answer(thread, message)
    await journal.emit(events.DELTA, {"delta": {"content": answer}, "message_id": str(message.pk)})
    await _finish(journal, thread, message, content=answer, status=MessageStatus.COMPLETED,
                  command=message.command,
                  changed={"personality": thread.personality} if thread.personality != personality else {})


def _title_from(text: str) -> str:
    words = text.split()[:TITLE_WORDS]
    title = " ".join(words)[:TITLE_CHARS].strip()
    return title or DEFAULT_TITLE


def _store_answer(thread: Thread, message: Message, *, content: str, status: str, error, execution, usage,
                  provider: str, model: str, ttft_ms, tool_calls, citations, command: str) -> tuple[Message, dict]:
    """The answer, stored with the thread's totals, and what else of the thread
    changed (its title, named after a first message)."""
    now = timezone.now()
    prompt, completion, cost = usage
    answer = Message(
        thread=thread, role=MessageRole.ASSISTANT, content=content, status=status, error=error,
        execution=execution, tokens_prompt=prompt, tokens_completion=completion, cost_usd=cost,
        provider=provider, model=model, ttft_ms=ttft_ms, tool_calls=tool_calls, citations=citations,
        command=command, latency_ms=execution.duration_ms if execution is not None else 0, created_at=now)
    rows.insert(Message, [answer])
    fields = dict(message_count=F("message_count") + 2, tokens_prompt=F("tokens_prompt") + prompt,
                  tokens_completion=F("tokens_completion") + completion,
                  total_cost_usd=F("total_cost_usd") + cost, last_activity_at=now, updated_at=now,
                  active_execution=None)
    changed = {}
    if not thread.title_set and thread.message_count == 0 and thread.title == DEFAULT_TITLE:
        fields["title"] = changed["title"] = thread.title = _title_from(message.content)
    Thread.objects.filter(pk=thread.pk).update(**fields)
    thread.message_count += 2
    return answer, changed


async def _finish(journal: Journal, thread: Thread, message: Message, *, content: str, status: str,
                  error: dict | None = None, execution: Execution | None = None,
                  usage: tuple = (0, 0, Decimal(0)), provider: str = "", model: str = "", ttft_ms=None,
                  tool_calls=(), citations=(), command: str = "", changed: dict | None = None) -> None:
    """Store the answer and end the turn's stream (its events are announced;
    the driver stores them next, ``_turn_over``).  When the turn changed the
    thread (a command set its personality, a first message named it), the
    event carries ``thread`` with what changed, so every page on it can show it."""
    answer, retitled = await sync_to_async(_store_answer)(
        thread, message, content=content, status=status, error=error, execution=execution, usage=usage,
        provider=provider, model=model, ttft_ms=ttft_ms, tool_calls=list(tool_calls), citations=list(citations),
        command=command)
    prompt, completion, cost = usage
    data = {"message_id": str(message.pk), "assistant_message_id": str(answer.pk),
            "execution_id": str(execution.pk) if execution is not None else None,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
            "cost_usd": float(cost), "latency_ms": answer.latency_ms, "ttft_ms": ttft_ms,
            "model": model or None, "citations": list(citations)}
    if changed or retitled:
        data["thread"] = {"id": str(thread.pk), **(changed or {}), **retitled}
    if status == MessageStatus.FAILED:
        error = error or {"code": "server_error", "message": "The turn failed."}
        code = error.get("code", "server_error")
        data["error"] = problem_body(status=FAILURE_STATUS.get(code, 500), code=code,
                                     detail=error.get("message", ""),
                                     instance=f"/api/v1/executions/{execution.pk}" if execution else "")
        await journal.emit(events.FAILED, data, execution_id=execution.pk if execution else None)
    else:
        data["status"] = "cancelled" if status == MessageStatus.CANCELLED else "completed"
        data["message"] = {"id": str(answer.pk), "role": "assistant", "content": content}
        if command:
            data["command"] = command
        await journal.emit(events.COMPLETED, data, execution_id=execution.pk if execution else None)
    # The events are stored as the driver takes its next message (``_turn_over``).


async def fail_unfinished(journal: Journal, message: Message) -> None:
    """After a crash: fail the turn's execution and end its stream."""
    thread = await Thread.objects.aget(pk=message.thread_id)
    try:
        await _finish(journal, thread, message, content="", status=MessageStatus.FAILED,
                      error={"code": "server_error", "message": "The turn failed unexpectedly."})
    except Exception:
        logger.exception("Could not record the failure of message %s", message.pk)
