"""Writing the trace: one ``ExecutionStep`` per node, one ``ExecutionEvent``
per thing a stream should show.

While an execution runs in this process, its steps and events are kept in
its ``RunLog`` rather than written one statement (and one commit, and one
thread hop off the event loop) at a time:

* each event gets its id at once, from a block reserved in the database
  (``event_ids``), and is announced live with its content, so every stream
  following the run has it at once, with the id it will be stored under;
* the log is written in a few statements (``bulk_create``): when the run
  ends, in the transaction that records its outcome and ``done``
  (``runs.execution_finish``), and on each tick of the run's watchdog
  (``AGENTRY_EXECUTION_CANCEL_POLL_SECONDS``) while a long run goes on;
* until then, readers in this process find the events in the log
  (``events_after``): what is stored, then what is not yet, each id once.

The trade-off: a process that dies mid-run loses what it had not written yet
(at most one watchdog tick of events and step updates), although live
subscribers may have seen it; the reaper still settles the execution with a
``done`` whose id is above every reserved one, so a stream resumed after a
lost event ends normally.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from executions import live
from executions.engine.context import StepOutcome
from executions.engine.nodes import NODES
from executions.engine.templating import as_text
from executions.models import ExecutionEvent, ExecutionStep
from executions.selectors import events_after as stored_events_after
from executions.services.event_ids import event_ids_reserve

MAX_EVENT_CONTENT = 20_000
FIRST_IDS = 16  # enough for a short pipeline's events (a 3-node run has 8)
MORE_IDS = 64
# What finishing a step changes, for the one UPDATE that writes finished steps already stored.
FINISHED_STEP_FIELDS = ["status", "error", "finished_at", "duration_ms", "output", "provider", "model", "attempts",
                        "tokens_prompt", "tokens_completion", "cost_usd"]


def event_record(execution_id, kind: str, data: dict) -> ExecutionEvent:
    """Store one event now and announce it once committed: for writers
    without a run log (a queued start, a settle from another process, the
    knowledge ingestion)."""
    event = ExecutionEvent.objects.create(execution_id=execution_id, kind=kind, data=data)
    transaction.on_commit(lambda: live.publish(execution_id, {"type": "event", "id": event.id}))
    return event


def event_message(event: ExecutionEvent, after: int) -> dict:
    """The live announcement of an event with its content; ``after`` is the
    id of the execution's event before it, so a reader can tell that it
    missed none (a reader at another id reads the table instead)."""
    return {"type": "event", "id": event.id, "after": after, "event": event.kind, "data": event.data}


@dataclass
class _Batch:
    """What one write of a log takes: events in id order, steps as copies."""

    events: list[ExecutionEvent] = field(default_factory=list)
    new_steps: list[ExecutionStep] = field(default_factory=list)
    changed_steps: list[ExecutionStep] = field(default_factory=list)
    versions: dict = field(default_factory=dict)  # step id → the change it was copied at

    def __bool__(self) -> bool:
        return bool(self.events or self.new_steps or self.changed_steps)


class RunLog:
    """One execution's steps and events while it runs here (thread-safe: the
    run adds on its event loop, the writes run on a database thread)."""

    def __init__(self, execution_id, *, after: int = 0):
        self.execution_id = execution_id
        self.last_id = after  # the newest event's id, written or not
        self.steps: list[ExecutionStep] = []
        self._ids: deque[int] = deque()
        self._events: list[ExecutionEvent] = []  # not written yet, in id order
        self._changes: dict[uuid.UUID, int] = {}  # steps not written as they are now → change counter
        self._stored_steps: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    # --- ids -------------------------------------------------------------------------------------

    @property
    def needs_ids(self) -> bool:
        return not self._ids

    def reserve(self, count: int = MORE_IDS) -> None:
        """Reserve more event ids (one statement; sync)."""
        ids = event_ids_reserve(count)
        with self._lock:
            self._ids.extend(ids)

    def new_event(self, kind: str, data: dict, *, keep: bool = True) -> tuple[ExecutionEvent, dict]:
        """The next event and its live announcement.  ``keep=False`` leaves it
        out of the log (the caller writes it: ``done``, stored with the outcome)."""
        with self._lock:
            event = ExecutionEvent(id=self._ids.popleft(), execution_id=self.execution_id, kind=kind, data=data,
                                   created_at=timezone.now())
            event.after = self.last_id
            self.last_id = event.id
            if keep:
                self._events.append(event)
        return event, event_message(event, event.after)

    # --- steps -----------------------------------------------------------------------------------

    def step_start(self, node_id: str, node_type: str, step_input) -> ExecutionStep:
        with self._lock:
            step = ExecutionStep(id=uuid.uuid4(), execution_id=self.execution_id, sequence=len(self.steps) + 1,
                                 node_id=node_id, node_type=node_type, input=step_input, started_at=timezone.now())
            self.steps.append(step)
            self._changed(step)
        return step

    def step_finish(self, step: ExecutionStep, status: str, outcome: StepOutcome | None, error: dict | None) -> None:
        now = timezone.now()
        with self._lock:
            step.status, step.error, step.finished_at = status, error, now
            step.duration_ms = max(0, int((now - step.started_at).total_seconds() * 1000))
            if outcome is not None:
                step.output = outcome.output
                step.provider, step.model, step.attempts = outcome.provider, outcome.model, outcome.attempts
                step.tokens_prompt, step.tokens_completion = outcome.tokens_prompt, outcome.tokens_completion
                step.cost_usd = outcome.cost_usd
            self._changed(step)

    def _changed(self, step: ExecutionStep) -> None:
        self._changes[step.id] = self._changes.get(step.id, 0) + 1

    def totals(self) -> tuple[int, int, object]:
        """Prompt tokens, completion tokens and cost of every step so far."""
        with self._lock:
            return (sum(s.tokens_prompt for s in self.steps), sum(s.tokens_completion for s in self.steps),
                    sum((s.cost_usd for s in self.steps), start=0))

    # --- reading and writing ---------------------------------------------------------------------

    def unstored_after(self, last_id: int) -> list[ExecutionEvent]:
        with self._lock:
            return [event for event in self._events if event.id > last_id]

    def take(self) -> _Batch:
        """What is not written yet, copied, so the run may go on changing its steps meanwhile."""
        batch = _Batch()
        with self._lock:
            batch.events = list(self._events)
            by_id = {step.id: step for step in self.steps}
            for step_id, version in self._changes.items():
                target = batch.changed_steps if step_id in self._stored_steps else batch.new_steps
                target.append(copy.copy(by_id[step_id]))
                batch.versions[step_id] = version
        return batch

    @staticmethod
    def insert(batch: _Batch, extra_events: tuple[ExecutionEvent, ...] = ()) -> None:
        """Write ``batch`` (and ``extra_events`` after it): a statement per
        kind of write (sync; the caller's transaction, if any, holds them)."""
        if batch.new_steps:
            ExecutionStep.objects.bulk_create(batch.new_steps)
        if batch.changed_steps:
            ExecutionStep.objects.bulk_update(batch.changed_steps, FINISHED_STEP_FIELDS)
        events = [*batch.events, *extra_events]
        if events:
            ExecutionEvent.objects.bulk_create(events)

    def written(self, batch: _Batch) -> None:
        """Forget what ``batch`` wrote, once committed (readers find it in the table now)."""
        with self._lock:
            del self._events[:len(batch.events)]  # the log only grows at its end
            for step_id, version in batch.versions.items():
                self._stored_steps.add(step_id)
                if self._changes.get(step_id) == version:
                    del self._changes[step_id]

    def flush(self) -> None:
        """Write what is not written yet, in one transaction (sync)."""
        batch = self.take()
        if not batch:
            return
        with transaction.atomic():
            self.insert(batch)
        self.written(batch)


# --- the logs of the runs in this process ----------------------------------------------------------

_logs: dict[str, RunLog] = {}
_logs_lock = threading.Lock()


def run_log_open(execution_id, *, after: int = 0) -> RunLog:
    """Start the log of a run in this process; ``after``: the id of the
    execution's newest stored event (0 if none)."""
    log = RunLog(execution_id, after=after)
    with _logs_lock:
        _logs[str(execution_id)] = log
    return log


def run_log_close(log: RunLog) -> None:
    with _logs_lock:
        if _logs.get(str(log.execution_id)) is log:
            del _logs[str(log.execution_id)]


def run_log_get(execution_id) -> RunLog | None:
    return _logs.get(str(execution_id))


def events_after(execution_id, last_id: int, *, limit: int = 500) -> tuple[list[ExecutionEvent], bool]:
    """The execution's events after ``last_id`` and whether it has finished
    (``selectors.events_after``), with the ones this process has not written
    yet after the stored ones.  Each id once and none skipped: the log is
    read first, so what it wrote meanwhile is in the table, and its events
    join only where the stored ones end (sync)."""
    log = run_log_get(execution_id)
    unstored = log.unstored_after(last_id) if log is not None else []
    events, finished = stored_events_after(execution_id, last_id, limit=limit)
    if not unstored or len(events) >= limit:
        return events, finished
    top = events[-1].id if events else last_id
    fresh = [event for event in unstored if event.id > top]
    if fresh and fresh[0].after == top:
        events += fresh
    return events, finished


# --- the engine's recorder ---------------------------------------------------------------------

def _stream_role(node_type: str) -> str:
    node = NODES.get(node_type)  # a subagent's steps carry their own types, all in the catalogue
    return node.stream_role if node is not None else "tool"


def step_event_data(step: ExecutionStep, status: str, error: dict | None) -> dict | None:
    """The ``step`` event of a finished step (``None`` for a successful agent
    node: its iterations were streamed as they happened)."""
    if status == "succeeded" and step.node_type == "agent":
        return None
    if status != "succeeded":
        content = (error or {}).get("message", status)
    elif step.node_type == "input" and isinstance(step.output, dict) and isinstance(step.output.get("message"), str):
        content = step.output["message"]  # what the user said, as a chat would show it
    else:
        content = as_text(step.output)
    return {"id": str(step.id), "role": _stream_role(step.node_type), "content": content[:MAX_EVENT_CONTENT],
            "node_id": step.node_id, "agent_iteration_id": None, "type": step.node_type, "status": status,
            "duration_ms": step.duration_ms, "tokens_used": step.tokens_used}


class DatabaseRecorder:
    """The engine's ``Recorder``: the run's log (``run_log_open`` by
    ``runs.execution_execute``), announced live as it grows.  No database
    work on the event loop, and none in the run's path but a new block of
    ids now and then."""

    def __init__(self, execution_id):
        self.execution_id = execution_id
        self._log: RunLog | None = None
        self._announcing = asyncio.Lock()  # announcements leave in id order, whatever the layer

    @property
    def log(self) -> RunLog:
        if self._log is None:
            self._log = run_log_get(self.execution_id)
            if self._log is None:
                raise RuntimeError(f"Execution {self.execution_id} has no run log here; run it with "
                                   "execution_execute.")
        return self._log

    async def step_started(self, node_id: str, node_type: str, step_input) -> ExecutionStep:
        step = self.log.step_start(node_id, node_type, step_input)
        await self.event("node_started", {"step_id": str(step.id), "node_id": node_id, "type": node_type})
        return step

    async def step_finished(self, step, *, status: str, outcome: StepOutcome | None, error: dict | None) -> None:
        self.log.step_finish(step, status, outcome, error)
        data = step_event_data(step, status, error)
        if data is not None:
            await self.event("step", data)

    async def event(self, kind: str, data: dict) -> None:
        async with self._announcing:
            if self.log.needs_ids:
                await sync_to_async(self.log.reserve)()
            _event, message = self.log.new_event(kind, data)
            await live.apublish(self.execution_id, message)

    async def delta(self, node_id: str, text: str) -> None:
        await live.apublish(self.execution_id, {"type": "delta", "node_id": node_id, "content": text})
