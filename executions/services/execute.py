"""``execution_execute``: the one async path through the engine, for every
way of running (an inline invoke, a stream's thread, a Celery worker, a chat
turn).  It never leaves an execution ``running``: whatever happens, it
finishes the row (``outcomes.execution_finish``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from agents.selectors import DRAFT
from core.errors import ApiError
from executions import live
from executions.engine.context import AgentDefinition, NodeFailure, RunContext
from executions.engine.runner import run_pipeline
from executions.llm.base import ProviderSettings
from executions.models import Execution, ExecutionEvent, ExecutionStatus
from executions.selectors import definition_for, template_env
from executions.services.catalogue import DatabaseCatalogue, provider_refs, providers_resolve
from executions.services.llm_pool import shared_client
from executions.services.outcomes import execution_finish
from executions.services.recording import DatabaseRecorder
from executions.services.run_log import FIRST_IDS, RunLog, run_log_close, run_log_open
from executions.services.workspace import DatabaseWorkspace, run_memory

T = TypeVar("T")

logger = logging.getLogger("agentry.executions")


class CancelSwitch:
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


_switches: dict[str, CancelSwitch] = {}  # the runs in flight in this process, by execution id


def execution_stop_here(execution_id) -> bool:
    """Stop the execution now if it runs in this process (a cancel request);
    whether it does."""
    switch = _switches.get(str(execution_id))
    if switch is not None:
        switch.flip()
    return switch is not None


async def execution_execute(execution_id, *, stream_deltas: bool = False, definition: AgentDefinition | None = None,
                            recorder=None, context: dict | None = None, execution: Execution | None = None,
                            inputs: RunInputs | None = None, then: Callable[[Execution], T] | None = None) -> T | None:
    """Run a running execution through the engine and finish its row, whatever
    happens.  ``recorder`` replaces the database recorder (a chat turn wraps
    it); ``context`` sets more ``RunContext`` fields (a turn's history);
    ``execution`` is the row with its agent when the caller has it (it is not
    read again, and comes back with the outcome); ``inputs``, what
    ``run_inputs`` read for it on the caller's thread (then a run nobody
    listens to starts without a trip to the database thread); ``then``, what
    to do with the finished row on the database thread, in the trip that
    finishes it (its value is returned).

    The run's steps and events go to its ``RunLog`` (``run_log``): its
    first event is ``status: running``, and what is not written by the
    watchdog's ticks is written with the outcome."""
    if execution is None:
        execution, inputs = await sync_to_async(_execution_to_run)(execution_id, definition)
    log = run_log_open(execution.id, after=getattr(execution, "last_event_id", None) or 0)
    try:
        return await _execute(execution, log, stream_deltas=stream_deltas, definition=definition, recorder=recorder,
                              context=context, inputs=inputs, then=then)
    finally:
        run_log_close(log)


def _execution_to_run(execution_id, definition: AgentDefinition | None) -> tuple[Execution, RunInputs]:
    """The execution with its agent and the id of its newest stored event, in
    one read, and what its run reads before its first node."""
    newest = ExecutionEvent.objects.filter(execution=OuterRef("pk")).order_by("-id").values("id")[:1]
    execution = Execution.objects.select_related("agent").annotate(last_event_id=Subquery(newest)).get(
        pk=execution_id)
    return execution, run_inputs(execution, definition)


@dataclass
class RunInputs:
    """What a run reads before its first node: the definition, env, memory
    and the providers of its model nodes; or the ``problem`` that stops it."""

    definition: AgentDefinition | None = None
    env: dict | None = None
    memory: str = ""
    providers: dict[str, ProviderSettings] | None = None
    problem: ApiError | None = None


def run_inputs(execution: Execution, definition: AgentDefinition | None = None) -> RunInputs:
    """The run's inputs (sync: read on a database thread).  A definition that
    cannot be read is the run's problem, not an exception: the run still
    finishes its row with it."""
    try:
        if definition is None:
            definition = definition_for(execution.agent, execution.options.get("version", DRAFT))
    except ApiError as exc:
        return RunInputs(problem=exc)
    return RunInputs(definition, template_env(definition.config),
                     run_memory(execution.agent, definition, execution.input),
                     providers_resolve(provider_refs(definition)))


def _first_event(log: RunLog, *, listened: bool) -> list[dict]:
    """The run's first event, numbered at once (with ids for those to come)
    when anyone listens; the announcements to publish.  Only a listened run
    reserves ids, the one statement here."""
    log.add_event("status", {"status": ExecutionStatus.RUNNING})
    if listened:
        log.reserve(FIRST_IDS)
    return log.number()


def _start_run(execution: Execution, definition: AgentDefinition | None, log: RunLog,
               inputs: RunInputs | None) -> tuple[list[dict], RunInputs]:
    """The first event and the inputs, in one trip to the database thread."""
    return _first_event(log, listened=log.listened()), inputs or run_inputs(execution, definition)


def _finish(execution: Execution, status: str, *, then: Callable[[Execution], T] | None, **outcome) -> T | None:
    """Finish the row (``execution_finish``), then ``then`` with it, in one trip."""
    execution_finish(execution, status, **outcome)
    return None if then is None else then(execution)


async def _execute(execution: Execution, log: RunLog, *, stream_deltas: bool, definition: AgentDefinition | None,
                   recorder, context: dict | None, inputs: RunInputs | None, then: Callable[[Execution], T] | None):
    if inputs is not None and not log.listened():
        # Read already, and nobody to number events for: no trip to the database thread.
        announcements, start = _first_event(log, listened=False), inputs
    else:
        announcements, start = await sync_to_async(_start_run)(execution, definition, log, inputs)
    for announcement in announcements:
        await live.apublish(execution.id, announcement)
    if start.problem is not None:
        return await sync_to_async(_finish)(execution, ExecutionStatus.FAILED, then=then, log=log, error={
            "code": start.problem.code, "message": start.problem.detail, "node_id": None})
    definition = start.definition
    # The loop's clients for the providers it will call; any other a run makes is its own, closed after it.
    shared = {settings.name: shared_client(settings) for settings in start.providers.values()}
    ctx = RunContext(
        execution_id=execution.id, agent=definition, input=execution.input, env=start.env,
        llm_clients=dict(shared), recorder=recorder or DatabaseRecorder(execution.id),
        catalogue=DatabaseCatalogue(start.providers),
        user_id=execution.requested_by_id, stream_deltas=stream_deltas,
        **{"workspace": DatabaseWorkspace(), "memory": start.memory,  # a caller's context may override these
           **(context or {})})
    run = asyncio.ensure_future(run_pipeline(ctx, definition.pipeline))
    switch = _switches[str(execution.id)] = CancelSwitch(run)
    watchdog = asyncio.ensure_future(_watch(execution.id, switch, log))
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
        for name, client in ctx.llm_clients.items():
            if shared.get(name) is client:
                continue
            try:
                await client.aclose()
            except Exception:  # closing a pool must not change the outcome
                logger.warning("Closing an LLM client failed", exc_info=True)
    return await sync_to_async(_finish)(execution, status, then=then, output=output, error=error,
                                        citations=ctx.citations, log=log)


async def _watch(execution_id, switch: CancelSwitch, log: RunLog) -> None:
    """Write the run's log, beat the heartbeat and watch for a cancel request
    in the database (from any process), once a tick; flip the switch when one comes."""
    beat_every = settings.AGENTRY_EXECUTION_HEARTBEAT_SECONDS
    last_beat = time.monotonic()
    while not switch.run.done():
        await asyncio.sleep(settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS)
        beat = time.monotonic() - last_beat >= beat_every
        try:
            cancel = await sync_to_async(_poll)(execution_id, beat, log)
        except DatabaseError:  # a hiccup: the next tick writes it, the outcome at the latest
            logger.warning("The watchdog of execution %s could not reach the database", execution_id, exc_info=True)
            continue
        if beat:
            last_beat = time.monotonic()
        if cancel:
            switch.flip()
            return


def _poll(execution_id, beat: bool, log: RunLog) -> bool:
    log.flush()
    if beat:
        Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(heartbeat_at=timezone.now())
    return Execution.objects.filter(pk=execution_id, cancel_requested=True).exists()
