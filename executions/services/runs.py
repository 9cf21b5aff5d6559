"""Starting, running and cancelling executions (API.md §4, DESIGN.md
"How a run flows").

``execution_start`` checks the request and writes the execution row (with
idempotency); ``execution_run`` claims a queued execution and runs it (a
Celery task, or ``execution_run_in_background``'s thread serving a stream);
``run_started`` runs a freshly started one on the calling event loop (a
synchronous invoke).  All three end in ``execution_execute`` (``executions.services.execute``),
the one async path through the engine, which never leaves an execution
``running``.  How an execution ends is ``executions.services.outcomes``;
settling what a dead process left, ``executions.services.reaper``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, connections, transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.errors import AgentNotActive
from agents.models import Agent, AgentStatus
from agents.selectors import DRAFT
from core import rows
from core.errors import ApiError, Conflict, UnprocessableContent, ValidationFailed
from core.validation import validated
from executions.engine.inputs import input_errors, input_schema
from executions.engine.runner import effective_pipeline
from executions.engine.templating import TemplateProblem, render_value
from executions.inputs import RunRequestSerializer
from executions.models import FINISHED_STATUSES, Execution, ExecutionStatus, Trigger
from executions.selectors import definition_for, parse_version
from executions.services.execute import execution_execute, execution_stop_here, run_inputs
from executions.services.outcomes import (
    execution_abandon,
    execution_as_settled,
    execution_finish,
    execution_result,
    execution_settle,
)
from executions.services.recording import event_record

# Where they were first written; callers still import them from here.
__all__ = ["IdempotencyConflict", "IdempotencyKeyReused", "RunRequest", "execution_abandon", "execution_cancel",
           "execution_claim", "execution_execute", "execution_finish", "execution_result", "execution_run",
           "execution_run_in_background", "execution_start", "run_prepare", "run_request", "run_request_from_body",
           "run_started"]

T = TypeVar("T")

logger = logging.getLogger("agentry.executions")

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IdempotencyConflict(ApiError):
    status, code = 409, "idempotency_conflict"


class IdempotencyKeyReused(UnprocessableContent):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class RunRequest:
    """A run request after parsing: the input the pipeline gets, and options."""

    input: dict
    timeout_ms: int
    trace: bool = False
    version: str | int | None = None  # None: deployed while running, else draft
    action: str | None = None

    def fingerprint(self) -> str:
        """Same request, same fingerprint: what an idempotency key is checked against."""
        canonical = json.dumps({"input": self.input, "timeout_ms": self.timeout_ms, "trace": self.trace,
                                "version": self.version, "action": self.action},
                               sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def run_request(agent: Agent, *, input=None, prompt=None, action=None, with_=None, timeout_ms=None,
                trace=False, version=None) -> RunRequest:
    """Build a ``RunRequest`` from the three body shapes of API.md §4:
    ``input``, ``prompt`` (becomes ``input.message``) or ``action`` + ``with``."""
    given = [name for name, value in (("input", input), ("prompt", prompt), ("action", action)) if value is not None]
    if len(given) > 1:
        raise ValidationFailed(f"Send one of input, prompt or action, not {' and '.join(given)}.",
                               errors={given[1]: [f"Cannot be combined with {given[0]}."]})
    if action is not None:
        # The action as the definition that will run defines it (a running agent's deployed version).
        actions = definition_for(agent, parse_version(version)).config.get("actions", [])
        run_input = _action_input(actions, action, with_ or {})
    elif prompt is not None:
        run_input = {**(with_ or {}), "message": prompt}
    else:
        run_input = input if input is not None else (with_ or {})
    default_ms = settings.AGENTRY_EXECUTION_DEFAULT_TIMEOUT * 1000
    return RunRequest(input=run_input, timeout_ms=int(timeout_ms or default_ms), trace=bool(trace),
                      version=parse_version(version), action=action)


def run_request_from_body(agent: Agent, body) -> RunRequest:
    """A ``RunRequest`` from a run endpoint's body (``executions.inputs.RunRequestSerializer``)."""
    return run_request(agent, **RunRequestSerializer.run_fields(validated(RunRequestSerializer(data=body))))


def _action_input(actions: list[dict], action_id: str, with_: dict) -> dict:
    action = next((a for a in actions if a["id"] == action_id), None)
    if action is None:
        known = ", ".join(a["id"] for a in actions) or "none"
        raise ValidationFailed(f"Unknown action {action_id!r}; this agent's actions: {known}.",
                               errors={"action": [f"Unknown action {action_id!r}."]})
    if action.get("input"):
        errors = input_errors(action["input"], with_, prefix="with")
        if errors:
            raise ValidationFailed.from_errors(errors)
    try:
        message = render_value(action["prompt"], {"input": with_, "nodes": {}, "env": {}, "memory": ""})
    except TemplateProblem as exc:
        raise UnprocessableContent(f"Action {action_id!r}: {exc}", code="pipeline_error") from exc
    return {**with_, "message": message if isinstance(message, str) else json.dumps(message)}


# --- starting -----------------------------------------------------------------------------------

def execution_start(*, agent: Agent, actor: Actor, request: RunRequest, trigger: str = Trigger.API,
                    queued: bool = False, idempotency_key: str = "", correlation_id: str = "",
                    ) -> tuple[Execution, bool]:
    """Check the request and write the execution; returns ``(execution, created)``.

    A repeated ``idempotency_key`` (same caller, same agent, within 24 h)
    returns the first execution with ``created=False`` when the request is the
    same and it has finished; 422 when the request differs; 409 while the
    first is still queued or running.
    """
    if agent.status != AgentStatus.ACTIVE:
        raise AgentNotActive(f"Agent {agent.slug!r} is {agent.status}; activate it to run it.")
    definition = definition_for(agent, request.version)
    schema = input_schema(effective_pipeline(definition.pipeline))
    if not isinstance(request.input, dict):
        raise ValidationFailed("input must be an object.", errors={"input": ["Must be an object."]})
    if schema:
        errors = input_errors(schema, request.input)
        if errors:
            raise ValidationFailed.from_errors(errors)
    fingerprint = request.fingerprint() if idempotency_key else ""
    if idempotency_key:
        existing = _replay(agent, actor, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    now = timezone.now()
    fields = dict(
        agent=agent, trigger=trigger, input=request.input, version=definition.version,
        options={"trace": request.trace, "version": definition.version or DRAFT}, timeout_ms=request.timeout_ms,
        requested_by=_requester(actor), token=actor.token,
        correlation_id=correlation_id[:200], idempotency_key=idempotency_key, request_hash=fingerprint,
        status=ExecutionStatus.QUEUED if queued else ExecutionStatus.RUNNING, created_at=now,
        started_at=None if queued else now, heartbeat_at=None if queued else now,
        enqueued_at=now if queued else None, worker="" if queued else _worker_name(),
    )
    try:
        # A running one is one INSERT: alone it needs no transaction (on SQLite a BEGIN and a
        # COMMIT of its own), but a savepoint inside the caller's, so a lost race leaves theirs usable.
        with transaction.atomic() if queued or connection.in_atomic_block else nullcontext():
            execution = Execution(**fields)
            rows.insert(Execution, [execution])
            # A running one's first event is its run's (execution_execute), as is its last_activity.
            execution.last_event_id = event_record(execution.id, "status", {"status": execution.status}).id \
                if queued else 0
    except IntegrityError:
        # Another request with this key won the race: answer as its replay.
        existing = _replay(agent, actor, idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, False
    if queued:
        Agent.objects.filter(pk=agent.pk).update(last_activity=now)
    execution.definition = definition  # what run_inline runs, without reading it again
    return execution, True


def _requester(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None


def _replay(agent, actor, key: str, fingerprint: str) -> Execution | None:
    first = Execution.objects.filter(agent=agent, requested_by=_requester(actor), idempotency_key=key).first()
    if first is None:
        return None
    if first.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        # Expired: the key is free again.
        Execution.objects.filter(pk=first.pk).update(idempotency_key="")
        return None
    if first.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body in the last 24 h.")
    if first.status not in FINISHED_STATUSES:
        raise IdempotencyConflict("The first request with this Idempotency-Key is still running; retry later.",
                                  headers={"Retry-After": "1"})
    return first


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- running ------------------------------------------------------------------------------------

def run_prepare(execution: Execution) -> Execution:
    """Read, on this thread, what the run of an execution ``execution_start``
    created as running reads before its first node, so that ``run_started``
    begins it on the event loop without a trip to the database thread."""
    execution.inputs = run_inputs(execution, getattr(execution, "definition", None))
    return execution


async def run_started(execution: Execution, then: Callable[[Execution], T] | None = None) -> Execution | T:
    """Run an execution ``execution_start`` created as running, on this event
    loop (a synchronous run's request waits for it there: ``core.awaiting``);
    it comes back with its outcome, or ``then`` makes what it returns of it
    on the database thread, in the trip that finishes the run."""

    def settled(execution: Execution) -> Execution | T:
        execution = execution_as_settled(execution)
        return execution if then is None else then(execution)

    return await execution_execute(execution.id, definition=getattr(execution, "definition", None),
                                   execution=execution, inputs=getattr(execution, "inputs", None), then=settled)


def execution_claim(execution_id, *, worker: str = "") -> bool:
    """Mark a queued execution running in ``worker`` (this process by
    default); ``False`` if someone else has it (or it was cancelled) already.
    The claim is one conditional UPDATE, so a redelivered task never runs an
    execution twice."""
    now = timezone.now()
    # The run's first event says it is running (execution_execute writes it).
    return bool(rows.update(Execution, execution_id, {
        "status": ExecutionStatus.RUNNING, "started_at": now, "heartbeat_at": now, "worker": worker or _worker_name(),
    }, status=ExecutionStatus.QUEUED))


def execution_run(execution_id, *, stream_deltas: bool = False, worker: str = "") -> Execution | None:
    """Claim a queued execution and run it here; ``None`` if someone else has
    it (or it was cancelled) already."""
    if not execution_claim(execution_id, worker=worker):
        return None
    async_to_sync(execution_execute)(execution_id, stream_deltas=stream_deltas)  # its first event: running
    return Execution.objects.get(pk=execution_id)


def execution_run_in_background(execution_id) -> None:
    """Claim and run a queued execution in a thread of this process, with its
    own database connection, so the request that started it (a stream) can
    end or lose its client without stopping the run."""
    threading.Thread(target=_run_in_thread, args=(execution_id,), daemon=True,
                     name=f"execution-{execution_id}").start()


def _run_in_thread(execution_id) -> None:
    close_old_connections()
    try:
        execution_run(execution_id, stream_deltas=True)
    except Exception:  # the engine settles its own failures; this is the database or worse
        logger.exception("Streamed execution %s could not run", execution_id)
        execution_abandon(execution_id, reason="The execution could not be started.")
    finally:
        connections.close_all()


# --- cancelling ----------------------------------------------------------------------

def execution_cancel(*, execution: Execution) -> Execution:
    """Cancel a queued execution at once; ask a running one to stop (its
    watchdog sees the flag within a poll interval)."""
    if execution.status in FINISHED_STATUSES:
        raise Conflict(f"Execution is already {execution.status}.")
    cancelled = execution_settle(
        execution.pk, (ExecutionStatus.QUEUED,), status=ExecutionStatus.CANCELLED, cancel_requested=True,
        finished_at=timezone.now(), duration_ms=0,
        error={"code": "cancelled", "message": "Cancelled before it started.", "node_id": None})
    if cancelled is not None:
        return cancelled
    Execution.objects.filter(pk=execution.pk).update(cancel_requested=True)
    execution_stop_here(execution.pk)  # running in this process: now, not at the watchdog's next poll
    execution.refresh_from_db()
    return execution
