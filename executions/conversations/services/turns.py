"""Sending a message, and stopping a turn (API.md §6, seed 004 chat).

A message is stored as a pending user message; the thread's *driver*
answers pending messages one at a time, in order.  The driver holds the
thread's lease (``Thread.driver``, renewed while it runs), so turns of one
thread never overlap, in one process or many; it runs on this process's turn
loop (``executions.conversations.loop``), not in the request, so a client
that disconnects loses nothing.

A message sent while a turn runs follows the thread's ``multitask_strategy``
(default: the agent's session policy): ``reject`` answers 409
``turn_in_progress``; ``interrupt`` cancels the running turn, then answers the
new message; ``enqueue`` answers it after the running one.
"""

from __future__ import annotations

import math

from django.utils import timezone

from accounts.actor import Actor
from agents.errors import AgentNotActive, AgentNotRunning
from agents.models import Agent, AgentStatus, RuntimeState
from core import rows
from core.errors import ApiError, Conflict
from executions.conversations.commands import command_name
from executions.conversations.driver import driver_ensure
from executions.conversations.models import Message, MessageRole, MessageStatus, Thread
from executions.conversations.selectors import (
    active_sessions,
    driver_live,
    multitask_strategy,
    pending_messages,
    session_active,
    session_policy,
)
from executions.models import Execution
from executions.services.runs import execution_cancel


class TurnInProgress(ApiError):
    status, code = 409, "turn_in_progress"


class SessionLimitReached(ApiError):
    status, code = 429, "rate_limited"


def chat_ready(agent: Agent) -> None:
    """Chat needs an active, running agent (API.md §7)."""
    if agent.status != AgentStatus.ACTIVE:
        raise AgentNotActive(f"Agent {agent.slug!r} is {agent.status}; activate it to chat with it.")
    if agent.runtime_state != RuntimeState.RUNNING:
        raise AgentNotRunning(f"Agent {agent.slug!r} is stopped; start it to chat with it.")


def session_slot(*, agent: Agent, user, policy: dict, exclude=None) -> None:
    """429 when ``user`` already has as many live sessions on the agent as the
    policy allows; ``Retry-After`` says when the first of them idles out."""
    limit = policy["max_concurrent_sessions_per_user"]
    sessions = active_sessions(agent=agent, user=user, policy=policy)
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude.pk)
    oldest = list(sessions.values_list("last_activity_at", flat=True)[:limit])
    if len(oldest) < limit:
        return
    idle_ends = oldest[0] + timezone.timedelta(seconds=policy["idle_timeout_seconds"])
    wait = max(1, math.ceil((idle_ends - timezone.now()).total_seconds()))
    raise SessionLimitReached(
        f"You already have {limit} active session{'s' if limit != 1 else ''} with this agent (its session policy's "
        f"limit); archive one or wait for it to idle out.", headers={"Retry-After": str(wait)})


def chat_submit(*, agent: Agent, thread: Thread, actor: Actor, content: str) -> Message:
    """Store ``content`` as the thread's next user message and make sure a
    driver will answer it; returns the message (whose id names the turn).
    ``thread`` is the row as this request has just read it (whether a driver
    holds it is read from the row)."""
    chat_ready(agent)
    if thread.archived:
        raise Conflict("This thread is archived; unarchive it (PATCH archived=false) to continue it.")
    policy = session_policy(agent)
    now = timezone.now()
    renew = not session_active(thread, policy, now)
    if renew:  # a new session on this thread: it counts against the user's limit
        session_slot(agent=agent, user=thread.created_by, policy=policy, exclude=thread)
    busy = driver_live(thread)  # the row thread_get read for this request
    strategy = multitask_strategy(thread, policy)
    if busy and strategy == "reject":
        raise TurnInProgress("A turn is running on this thread; wait for it to finish or cancel it.",
                             headers={"Retry-After": "1"})
    message = Message(thread=thread, role=MessageRole.USER, content=content, status=MessageStatus.PENDING,
                      command=command_name(content), token=actor.token)
    rows.insert(Message, [message])
    fields = {"last_activity_at": now, "updated_at": now}
    if renew:
        fields["session_started_at"] = now
    rows.update(Thread, thread.pk, fields)
    if busy and strategy == "interrupt":
        turn_cancel(thread=thread, before=message)
    driver_ensure(thread.pk)
    return message


def turn_cancel(*, thread: Thread, before: Message | None = None) -> bool:
    """Stop the thread's running turn (and, with ``before``, drop the
    messages queued ahead of it); ``False`` when nothing was running."""
    thread.refresh_from_db(fields=["active_execution"])
    stopped = False
    if thread.active_execution_id:
        execution = Execution.objects.filter(pk=thread.active_execution_id).first()
        if execution is not None:
            try:
                execution_cancel(execution=execution)
                stopped = True
            except Conflict:  # it finished meanwhile
                pass
    if before is not None:
        pending_messages(thread.pk).filter(created_at__lte=before.created_at).exclude(pk=before.pk).update(
            status=MessageStatus.CANCELLED)
    return stopped
