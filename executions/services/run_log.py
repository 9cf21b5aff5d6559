"""A run's log: the steps and events of an execution running in this
process, kept in memory and written in a few statements.

While an execution runs here, its steps and events are kept in its
``RunLog`` rather than written one statement (and one commit, and one
thread hop off the event loop) at a time:

* the log is written in a statement per model (``core.rows.insert``) when the run ends, in the
  transaction that records its outcome and ``done``
  (``outcomes.execution_finish``), and on each tick of the run's watchdog
  (``AGENTRY_EXECUTION_CANCEL_POLL_SECONDS``) while a long run goes on;
* when someone may be listening (a stream in this process follows the
  execution, or a channel layer reaches other processes), each event is
  numbered at once from a block of ids reserved in the database
  (``event_ids``) and announced live with its content and the id it will be
  stored under; with nobody listening, events wait unnumbered and the
  database numbers them as it stores them, so a run that nobody follows
  reserves nothing.  A reader that joins numbers what waits (``events_after``);
* readers in this process find the events not written yet in the log:
  what is stored, then what is not, each id once.

The trade-off: a process that dies mid-run loses what it had not written yet
(at most one watchdog tick of events and step updates), although live
subscribers may have seen it; the reaper still settles the execution with a
``done`` whose id is above every id handed out before, so a stream resumed
after a lost event ends normally.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core import rows
from executions import live
from executions.engine.context import StepOutcome
from executions.models import ExecutionEvent, ExecutionStep
from executions.selectors import events_after as stored_events_after
from executions.services.event_ids import event_ids_reserve

FIRST_IDS = 16  # enough for a short pipeline's events (a 3-node run has 8)
MORE_IDS = 64
# What finishing a step changes, for the one UPDATE that writes finished steps already stored.
FINISHED_STEP_FIELDS = ["status", "error", "finished_at", "duration_ms", "output", "provider", "model", "attempts",
                        "tokens_prompt", "tokens_completion", "cost_usd"]


def event_message(event: ExecutionEvent, after: int) -> dict:
    """The live announcement of an event with its content; ``after`` is the
    id of the execution's event before it, so a reader can tell that it
    missed none (a reader at another id reads the table instead)."""
    return {"type": "event", "id": event.id, "after": after, "event": event.kind, "data": event.data}


@dataclass
class Batch:
    """What one write of a log takes: events in order, steps as copies."""

    events: list[ExecutionEvent] = field(default_factory=list)
    new_steps: list[ExecutionStep] = field(default_factory=list)
    changed_steps: list[ExecutionStep] = field(default_factory=list)
    versions: dict = field(default_factory=dict)  # step id → the change it was copied at

    def __bool__(self) -> bool:
        return bool(self.events or self.new_steps or self.changed_steps)


class RunLog:
    """One execution's steps and events while it runs here (thread-safe: the
    run adds on its event loop, writes and readers run on database threads).

    Events are numbered in order: the unnumbered ones are always the last."""

    def __init__(self, execution_id, *, after: int = 0, listened: Callable[[], bool] | None = None):
        self.execution_id = execution_id
        self.last_id = after  # the newest numbered event's id, written or not
        self.steps: list[ExecutionStep] = []
        self._listened = listened or (lambda: live.listened(execution_id))
        self._ids: deque[int] = deque()
        self._events: list[ExecutionEvent] = []  # not written yet, in order
        self._changes: dict[uuid.UUID, int] = {}  # steps not written as they are now → change counter
        self._stored_steps: set[uuid.UUID] = set()
        self._sealed = False  # its last write has begun: the database numbers what is left
        self._lock = threading.Lock()

    # --- events ----------------------------------------------------------------------------------

    def listened(self) -> bool:
        """Whether anyone may be following the execution now."""
        return self._listened()

    def add_event(self, kind: str, data: dict) -> ExecutionEvent:
        """Append an event, unnumbered (``number`` gives it its id)."""
        event = ExecutionEvent(execution_id=self.execution_id, kind=kind, data=data, created_at=timezone.now())
        with self._lock:
            self._events.append(event)
        return event

    def unnumbered(self) -> int:
        with self._lock:
            return 0 if self._sealed else sum(1 for event in self._events if event.id is None)

    def reserve(self, count: int = MORE_IDS) -> None:
        """Reserve more event ids (one statement; sync)."""
        ids = event_ids_reserve(count)
        with self._lock:
            self._ids.extend(ids)

    def number(self) -> list[dict]:
        """Number the waiting events, in order, as far as the reserved ids
        go; their announcements."""
        announcements = []
        with self._lock:
            if self._sealed:
                return []
            for event in self._events:
                if event.id is None:
                    if not self._ids:
                        break
                    event.id, event.after = self._ids.popleft(), self.last_id
                    self.last_id = event.id
                    announcements.append(event_message(event, event.after))
        return announcements

    def number_final(self, event: ExecutionEvent) -> None:
        """Give the run's last event (written after every other, see
        ``outcomes``) a spare reserved id when every event before it has one:
        it is above them all, and one insert then writes the whole batch.
        Otherwise the database numbers it, above every reserved id."""
        with self._lock:
            if self._ids and all(waiting.id is not None for waiting in self._events):
                event.id = self._ids.popleft()

    def number_all(self) -> None:
        """Number every waiting event, reserving ids as needed (sync)."""
        while (waiting := self.unnumbered()) > len(self._ids):
            self.reserve(max(MORE_IDS, waiting))
        self.number()

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
        """The numbered events not written yet, after ``last_id``."""
        with self._lock:
            return [event for event in self._events if event.id is not None and event.id > last_id]

    def take(self, *, last: bool = False) -> Batch:
        """What is not written yet, copied, so the run may go on changing its
        steps meanwhile.  ``last``: the run is over; events still unnumbered
        stay so, for the database to number (above every reserved id)."""
        batch = Batch()
        with self._lock:
            self._sealed = self._sealed or last
            batch.events = list(self._events)
            by_id = {step.id: step for step in self.steps}
            for step_id, version in self._changes.items():
                target = batch.changed_steps if step_id in self._stored_steps else batch.new_steps
                target.append(copy.copy(by_id[step_id]))
                batch.versions[step_id] = version
        return batch

    @staticmethod
    def insert(batch: Batch, extra_events: tuple[ExecutionEvent, ...] = ()) -> None:
        """Write ``batch`` (and ``extra_events`` after it): a statement per
        kind of write, two for events when some are numbered and some not
        (sync; the caller's transaction, if any, holds them).  Events the
        database numbers get their ids here."""
        if batch.new_steps:
            rows.insert(ExecutionStep, batch.new_steps)
        if batch.changed_steps:
            ExecutionStep.objects.bulk_update(batch.changed_steps, FINISHED_STEP_FIELDS)
        events = [*batch.events, *extra_events]
        if events:
            rows.insert(ExecutionEvent, events)

    def written(self, batch: Batch) -> None:
        """Forget what ``batch`` wrote, once committed (readers find it in the table now)."""
        with self._lock:
            del self._events[:len(batch.events)]  # the log only grows at its end
            for event in batch.events:
                self.last_id = max(self.last_id, event.id)
            for step_id, version in batch.versions.items():
                self._stored_steps.add(step_id)
                if self._changes.get(step_id) == version:
                    del self._changes[step_id]

    def flush(self) -> None:
        """Write what is not written yet, in one transaction (sync).  Every
        event is numbered first: the run goes on, and its later events must
        come after these."""
        self.number_all()
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
    yet after the stored ones (numbered now, so they have their ids).  Each
    id once and none skipped: the log is read first, so what it wrote
    meanwhile is in the table, and its events join only where the stored
    ones end (sync)."""
    log = run_log_get(execution_id)
    unstored = []
    if log is not None:
        log.number_all()
        unstored = log.unstored_after(last_id)
    events, finished = stored_events_after(execution_id, last_id, limit=limit)
    if not unstored or len(events) >= limit:
        return events, finished
    top = events[-1].id if events else last_id
    fresh = [event for event in unstored if event.id > top]
    if fresh and fresh[0].after == top:
        events += fresh
    return events, finished
