"""The thread's driver: answers its pending messages one at a time.

Holding the thread's lease, it takes the oldest pending user message, runs
its turn and stores the answer, until none is left; then it stores what its
journal holds and lets the lease go.  A turn is a slash command (answered
here, no model) or an execution (trigger ``chat``) of the agent's deployed
version, run by the engine with the thread's history, streaming as it goes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from decimal import Decimal

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.db import connection, connections
from django.db.models import F
from django.utils import timezone

from accounts.actor import Actor
from agents.memory_reads import memory_text, relevant_memories
from agents.models import Agent, AgentStatus, RuntimeState
from core import rows
from core.errors import ApiError, problem_body
from executions.conversations import commands
from executions.conversations import journal as events
from executions.conversations.context import turn_context, window_reads
from executions.conversations.journal import Journal, journal_close, journal_open
from executions.conversations.lease import driver_claim, driver_name, driver_release, driver_renew
from executions.conversations.loop import turn_loop
from executions.conversations.models import DEFAULT_TITLE, Message, MessageRole, MessageStatus, Thread
from executions.conversations.recorder import ChatRecorder
from executions.conversations.selectors import has_pending_messages, next_pending_message
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


# --- the lease (lease.py) ----------------------------------------------------------------------

def driver_ensure(thread_id) -> bool:
    """Start a driver for the thread on this process's turn loop, unless one
    runs already (here or in another process).  Once the lease is taken, the
    driver's opening reads (``_opening``) are made here, in the caller's trip
    to the database (a chat request's), so the turn starts without a trip of
    its own: on SQLite that trip queued behind the request's response and its
    stream's first read."""
    name = driver_name()
    opening = _claim(thread_id, name)
    if opening is None:
        return False
    turn_loop.submit(drive(thread_id, name, opening=opening))
    return True


def _claim(thread_id, name: str) -> tuple[int, Message | None] | None:
    """Take the thread's lease and make the opening reads (``_opening``), or
    None when a live driver holds it."""
    return _opening(thread_id) if driver_claim(thread_id, name) else None


def _last_stored_seq(thread_id) -> int:
    found = rows.values_where(Thread, ("last_event_seq",), id=thread_id)
    return found[0] if found else 0


def _opening(thread_id) -> tuple[int, Message | None]:
    """What a driver reads as it takes the lease, in one trip to the database
    thread: the last stored event's seq and the first message to answer,
    which joins the conversation (``_next_turn``)."""
    return _last_stored_seq(thread_id), _next_turn(thread_id)


def _next_turn(thread_id) -> Message | None:
    """The next message to answer (``next_pending_message``), joining the
    conversation now: after the turns ahead of it, so a message sent during
    another turn is ordered after its answer."""
    message = next_pending_message(thread_id)
    if message is not None:
        message.status, message.created_at = MessageStatus.COMPLETED, timezone.now()
        rows.update(Message, message.pk, {"status": message.status, "created_at": message.created_at})
    return message


async def drive(thread_id, name: str, opening: tuple[int, Message | None] | None = None) -> None:
    """Answer the thread's pending messages, then let the lease go; with
    ``opening``, what ``_opening`` read once the lease was taken.

    On PostgreSQL the driver's database work runs on a thread of its own (as
    a request's does), so concurrent turns overlap their round trips instead
    of queueing on the one thread every context-less ``sync_to_async`` of the
    process shares.  SQLite has one writer: threads with connections of their
    own only queue on its lock, whose busy handler sleeps and backs off
    between tries, so there a driver's work stays on the shared thread (200
    concurrent turns in ``bench/chat_bench.py``: the first delta after 7.8 s
    at the median instead of 13.5 s)."""
    if connection.vendor == "sqlite":
        await _drive(thread_id, name, opening)
        return
    async with ThreadSensitiveContext():
        try:
            await _drive(thread_id, name, opening)
        finally:
            await sync_to_async(connections.close_all)()  # that thread ends with the context


async def _drive(thread_id, name: str, opening: tuple[int, Message | None] | None) -> None:
    seq, message = opening if opening is not None else await sync_to_async(_opening)(thread_id)
    journal = journal_open(thread_id, seq)
    keeper = asyncio.ensure_future(_keep(journal, name))
    released = False  # the journal stored and the lease let go, nothing emitted since
    try:
        while True:
            if message is None:
                # Store everything, let go, then look once more (``_let_go``):
                # a message sent while letting go found the lease taken and
                # relies on this look.
                pending = await sync_to_async(_let_go)(journal, thread_id, name)
                released = True
                if not pending:
                    return
                opening = await sync_to_async(_claim)(thread_id, name)
                if opening is None:
                    return  # another driver has it
                released = False
                journal_close(journal)
                seq, message = opening
                journal = journal_open(thread_id, seq)
                keeper.cancel()
                keeper = asyncio.ensure_future(_keep(journal, name))
                continue
            try:
                await run_turn(journal, message)
            except Exception:
                if not await Thread.objects.filter(pk=thread_id).aexists():
                    logger.info("Thread %s was deleted during a turn", thread_id)
                    return
                # a bug in one turn must not strand the others
                logger.exception("Chat turn for message %s crashed", message.pk)
                await _fail_unfinished(journal, message)
            message = await sync_to_async(_turn_over)(journal, thread_id)
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        try:
            if not released:
                await sync_to_async(journal.flush)()
        finally:
            journal_close(journal)
            if not released:
                await sync_to_async(driver_release)(thread_id, name)


def _turn_over(journal: Journal, thread_id) -> Message | None:
    """After a turn, in one trip to the database thread: store what the
    journal holds (the turn's last events), then take the next message."""
    journal.flush()
    return _next_turn(thread_id)


def _let_go(journal: Journal, thread_id, name: str) -> bool:
    """In one trip to the database thread, in this order: store what the
    journal holds, let the lease go, then look for a pending message (whether
    one came meanwhile)."""
    journal.flush()
    driver_release(thread_id, name)
    return has_pending_messages(thread_id)


async def _keep(journal: Journal, name: str) -> None:
    """Store the journal in batches and renew the lease, while the driver runs."""
    every = settings.AGENTRY_CHAT_FLUSH_SECONDS
    renew_every = max(every, settings.AGENTRY_EXECUTION_HEARTBEAT_SECONDS)
    since_renew = 0.0
    while True:
        await asyncio.sleep(every)
        try:
            await sync_to_async(journal.flush)()
            since_renew += every
            if since_renew >= renew_every:
                since_renew = 0.0
                await sync_to_async(driver_renew)(journal.thread_id, name)
        except Exception:  # the database hiccuped: the next round stores it
            logger.warning("Storing the events of thread %s failed", journal.thread_id, exc_info=True)


# --- one turn -----------------------------------------------------------------------------------

def _user_message_data(message: Message) -> dict:
    return {"message": {"id": str(message.pk), "role": message.role, "content": message.content,
                        "created_at": message.created_at.isoformat().replace("+00:00", "Z")}}


async def run_turn(journal: Journal, message: Message) -> None:
    """Answer ``message`` (taken by ``_next_turn``, with its thread and agent)."""
    thread = message.thread
    turn = str(message.pk)
    await journal.emit(events.MESSAGE_CREATED, {**_user_message_data(message), "message_id": turn})
    if message.command:
        await _answer_command(journal, thread, message)
        return
    agent = thread.agent
    if agent.status != AgentStatus.ACTIVE or agent.runtime_state != RuntimeState.RUNNING:
        code = "agent_not_active" if agent.status != AgentStatus.ACTIVE else "agent_not_running"
        await _finish(journal, thread, message, content="", status=MessageStatus.FAILED,
                      error={"code": code, "message": f"Agent {agent.slug!r} can no longer chat: it is "
                                                      f"{agent.status if code == 'agent_not_active' else 'stopped'}."})
        return
    try:
        execution, definition, memory, reads = await sync_to_async(_start_execution)(agent, thread, message)
    except ApiError as exc:
        await _finish(journal, thread, message, content="", status=MessageStatus.FAILED,
                      error={"code": exc.code, "message": exc.detail})
        return
    context = await turn_context(agent=agent, thread=thread, config=definition.config, user_text=message.content,
                                 memory=memory, before=message.created_at, reads=reads)
    recorder = ChatRecorder(DatabaseRecorder(execution.pk), journal, turn_id=turn, execution_id=execution.pk)
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


async def _fail_unfinished(journal: Journal, message: Message) -> None:
    """After a crash: fail the turn's execution and end its stream."""
    thread = await Thread.objects.aget(pk=message.thread_id)
    try:
        await _finish(journal, thread, message, content="", status=MessageStatus.FAILED,
                      error={"code": "server_error", "message": "The turn failed unexpectedly."})
    except Exception:
        logger.exception("Could not record the failure of message %s", message.pk)
