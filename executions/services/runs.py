"""Starting, running, cancelling and reaping executions (API.md §4, DESIGN.md
"How a run flows").

``execution_start`` checks the request and writes the execution row (with
idempotency); ``execution_run`` claims a queued execution and runs it (a
Celery task, or ``execution_run_in_background``'s thread serving a stream);
``run_inline`` runs a freshly started one in the calling thread (synchronous
invoke).  Settling what a dead process left is ``executions.services.reaper``.  All three end in
``execution_execute``, the one async path through the engine, which never leaves an
execution ``running``: whatever happens, it finishes the row.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.actor import Actor
from agents.errors import AgentNotActive
from agents.models import Agent, AgentStatus
from agents.selectors import DRAFT
from core.errors import ApiError, Conflict, UnprocessableContent, ValidationFailed
from core.validation import validated
from executions.engine.context import AgentDefinition, NodeFailure, RunContext
from executions.engine.inputs import input_errors, input_schema
from executions.engine.runner import effective_pipeline, run_pipeline
from executions.engine.templating import TemplateProblem, render_value
from executions.inputs import RunRequestSerializer
from executions.models import FINISHED_STATUSES, Execution, ExecutionStatus, Trigger
from executions.selectors import definition_for, parse_version
from executions.services.catalogue import DatabaseCatalogue
from executions.services.recording import DatabaseRecorder, event_record
from executions.services.workspace import DatabaseWorkspace, run_memory

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
        with transaction.atomic():
            execution = Execution.objects.create(**fields)
            event_record(execution.id, "status", {"status": execution.status})
    except IntegrityError:
        # Another request with this key won the race: answer as its replay.
        existing = _replay(agent, actor, idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, False
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

def run_inline(execution: Execution) -> Execution:
    """Run an execution ``execution_start`` created as running, in this thread."""
    async_to_sync(execution_execute)(execution.id, definition=getattr(execution, "definition", None))
    execution.refresh_from_db()
    return execution


def execution_claim(execution_id, *, worker: str = "") -> bool:
    """Mark a queued execution running in ``worker`` (this process by
    default); ``False`` if someone else has it (or it was cancelled) already.
    The claim is one conditional UPDATE, so a redelivered task never runs an
    execution twice."""
    now = timezone.now()
    claimed = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.QUEUED).update(
        status=ExecutionStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker or _worker_name())
    if claimed:
        event_record(execution_id, "status", {"status": ExecutionStatus.RUNNING})
    return bool(claimed)


def execution_run(execution_id, *, stream_deltas: bool = False, worker: str = "") -> Execution | None:
    """Claim a queued execution and run it here; ``None`` if someone else has
    it (or it was cancelled) already."""
    if not execution_claim(execution_id, worker=worker):
        return None
    async_to_sync(execution_execute)(execution_id, stream_deltas=stream_deltas)
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


class _CancelSwitch:
    """Stops one run from any thread: set by its watchdog (a cancel request
    in the database) or at once by ``execution_cancel`` in this process."""

    def __init__(self, run: asyncio.Future):
        self.run, self.loop, self.flipped = run, asyncio.get_running_loop(), False

    def flip(self) -> None:
        self.flipped = True
        try:
            self.loop.call_soon_threadsafe(self.run.cancel)
        except RuntimeError:  # its loop has closed: the run is over
            pass


_switches: dict[str, _CancelSwitch] = {}  # the runs in flight in this process, by execution id


async def execution_execute(execution_id, *, stream_deltas: bool = False, definition: AgentDefinition | None = None,
                            recorder=None, context: dict | None = None) -> None:
    """Run a running execution through the engine and finish its row, whatever
    happens.  ``recorder`` replaces the database recorder (a chat turn wraps
    it); ``context`` sets more ``RunContext`` fields (a turn's history)."""
    execution = await Execution.objects.select_related("agent").aget(pk=execution_id)
    try:
        if definition is None:
            definition = await sync_to_async(definition_for)(execution.agent, execution.options.get("version", DRAFT))
    except ApiError as exc:
        await sync_to_async(execution_finish)(execution, ExecutionStatus.FAILED,
                                     error={"code": exc.code, "message": exc.detail, "node_id": None})
        return
    catalogue = DatabaseCatalogue()
    ctx = RunContext(
        execution_id=execution.id, agent=definition, input=execution.input,
        env=await catalogue.env(definition), recorder=recorder or DatabaseRecorder(execution.id),
        catalogue=catalogue, user_id=execution.requested_by_id, stream_deltas=stream_deltas,
        **{"workspace": DatabaseWorkspace(),  # a caller's context may override these
           "memory": await sync_to_async(run_memory)(execution.agent, definition, execution.input),
           **(context or {})})
    run = asyncio.ensure_future(run_pipeline(ctx, definition.pipeline))
    switch = _switches[str(execution.id)] = _CancelSwitch(run)
    watchdog = asyncio.ensure_future(_watch(execution.id, switch))
    status, output, error = ExecutionStatus.FAILED, None, None
    try:
        async with asyncio.timeout(execution.timeout_ms / 1000):
            output = await run
        status = ExecutionStatus.SUCCEEDED
    except TimeoutError:
        status = ExecutionStatus.TIMED_OUT
        error = {"code": "timeout", "message": f"The execution took longer than {execution.timeout_ms} ms.",
                 "node_id": None}
    except asyncio.CancelledError:
        if not switch.flipped:
            raise  # we were cancelled from outside (shutdown), not by a cancel request
        status = ExecutionStatus.CANCELLED
        error = {"code": "cancelled", "message": "Cancelled on request.", "node_id": None}
    except NodeFailure as failure:  # the pipeline's or a provider's doing, not ours: one line, no traceback
        error = failure.to_dict()
        logger.info("Execution %s failed at node %s: %s: %s", execution.id, failure.node_id, failure.code,
                    failure.message)
    except Exception:  # an engine bug must still finish the execution
        logger.exception("Execution %s crashed", execution.id)
        error = {"code": "server_error", "message": "The engine failed unexpectedly.", "node_id": None}
    finally:
        _switches.pop(str(execution.id), None)
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
        for client in ctx.llm_clients.values():
            try:
                await client.aclose()
            except Exception:  # closing a pool must not change the outcome
                logger.warning("Closing an LLM client failed", exc_info=True)
    await sync_to_async(execution_finish)(execution, status, output=output, error=error, citations=ctx.citations)


async def _watch(execution_id, switch: _CancelSwitch) -> None:
    """Beat the heartbeat and watch for a cancel request in the database
    (from any process); flip the switch when one comes."""
    beat_every = settings.AGENTRY_EXECUTION_HEARTBEAT_SECONDS
    last_beat = time.monotonic()
    while not switch.run.done():
        await asyncio.sleep(settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS)
        beat = time.monotonic() - last_beat >= beat_every
        cancel = await sync_to_async(_poll)(execution_id, beat)
        if beat:
            last_beat = time.monotonic()
        if cancel:
            switch.flip()
            return


def _poll(execution_id, beat: bool) -> bool:
    if beat:
        Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(heartbeat_at=timezone.now())
    return Execution.objects.filter(pk=execution_id, cancel_requested=True).exists()


def _settle(execution_id, from_statuses: tuple[str, ...], **fields) -> Execution | None:
    """Move an execution that is still in one of ``from_statuses`` to its end,
    with its ``done`` event; ``None`` if someone settled it first.  The status
    and the event become visible together, so a stream that sees the end
    also sees ``done``."""
    with transaction.atomic():
        if not Execution.objects.filter(pk=execution_id, status__in=from_statuses).update(**fields):
            return None
        execution = Execution.objects.get(pk=execution_id)
        event_record(execution_id, "done", execution_result(execution))
    return execution


def execution_finish(execution: Execution, status: str, *, output=None, error=None,
                     citations: list | None = None) -> None:
    """Write the outcome, totals from the steps, the knowledge passages it
    cited, and the ``done`` event.  Only a still-running execution is
    finished: the reaper or a cancel may have settled it already."""
    now = timezone.now()
    totals = execution.steps.aggregate(prompt=Sum("tokens_prompt"), completion=Sum("tokens_completion"),
                                       cost=Sum("cost_usd"))
    started = execution.started_at or execution.created_at
    finished = _settle(
        execution.pk, (ExecutionStatus.RUNNING,), status=status, output=output, error=error, finished_at=now,
        duration_ms=max(0, int((now - started).total_seconds() * 1000)),
        tokens_prompt=totals["prompt"] or 0, tokens_completion=totals["completion"] or 0,
        cost_usd=totals["cost"] or 0, **({"citations": citations} if citations else {}))
    if finished is not None:
        Agent.objects.filter(pk=execution.agent_id).update(last_activity=now)


def execution_result(execution: Execution, *, trace: list | None = None) -> dict:
    """The result body of API.md §4 (``trace`` only when given)."""
    result = {
        "execution_id": str(execution.id), "status": execution.status, "output": execution.output,
        "duration_ms": execution.duration_ms, "tokens_used": execution.tokens_used,
        "tokens": {"prompt": execution.tokens_prompt, "completion": execution.tokens_completion},
        "cost_usd": float(execution.cost_usd), "version": execution.version, "error": execution.error,
        "citations": execution.citations,
    }
    if trace is not None:
        result["trace"] = trace
    return result


# --- cancelling ----------------------------------------------------------------------

def execution_cancel(*, execution: Execution) -> Execution:
    """Cancel a queued execution at once; ask a running one to stop (its
    watchdog sees the flag within a poll interval)."""
    if execution.status in FINISHED_STATUSES:
        raise Conflict(f"Execution is already {execution.status}.")
    cancelled = _settle(
        execution.pk, (ExecutionStatus.QUEUED,), status=ExecutionStatus.CANCELLED, cancel_requested=True,
        finished_at=timezone.now(), duration_ms=0,
        error={"code": "cancelled", "message": "Cancelled before it started.", "node_id": None})
    if cancelled is not None:
        return cancelled
    Execution.objects.filter(pk=execution.pk).update(cancel_requested=True)
    switch = _switches.get(str(execution.pk))
    if switch is not None:  # running in this process: stop it now, not at the watchdog's next poll
        switch.flip()
    execution.refresh_from_db()
    return execution


def execution_abandon(execution_id, *, reason: str) -> None:
    """Fail an execution that will never run (the broker refused it, its
    thread could not start): whether it got to ``running`` or not, it must not
    stay unfinished."""
    try:
        _settle(execution_id, (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING), status=ExecutionStatus.FAILED,
                finished_at=timezone.now(), error={"code": "server_error", "node_id": None, "message": reason})
    except Exception:  # the database itself is failing: the reaper settles it later
        logger.exception("Could not mark execution %s failed", execution_id)
