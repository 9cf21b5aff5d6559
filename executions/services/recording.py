"""Writing the trace: one ``ExecutionStep`` per node, one ``ExecutionEvent``
per thing a stream should show.  A run records into its ``RunLog``
(``run_log``: in memory, written in batches, announced live when someone
listens); writers without one store an event at once (``event_record``)."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.db import transaction

from executions import live
from executions.engine.context import StepOutcome
from executions.engine.nodes import NODES
from executions.engine.templating import as_text
from executions.models import ExecutionEvent, ExecutionStep
from executions.services.run_log import MORE_IDS, RunLog, run_log_get

MAX_EVENT_CONTENT = 20_000


def event_record(execution_id, kind: str, data: dict) -> ExecutionEvent:
    """Store one event now and announce it once committed: for writers
    without a run log (a queued start, a settle from another process, the
    knowledge ingestion)."""
    event = ExecutionEvent.objects.create(execution_id=execution_id, kind=kind, data=data)
    transaction.on_commit(lambda: live.publish(execution_id, {"type": "event", "id": event.id}))
    return event


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
    ``execute.execution_execute``), announced live as it grows.  No database
    work on the event loop, and none in the run's path but a block of ids
    now and then while someone listens."""

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
        log = self.log
        log.add_event(kind, data)
        if not log.listened():
            return  # numbered when someone comes, or by the database
        async with self._announcing:
            while True:
                for message in log.number():  # a reader may have numbered some meanwhile: it has those
                    await live.apublish(self.execution_id, message)
                waiting = log.unnumbered()
                if not waiting:
                    return
                await sync_to_async(log.reserve)(max(MORE_IDS, waiting))

    async def delta(self, node_id: str, text: str) -> None:
        await live.apublish(self.execution_id, {"type": "delta", "node_id": node_id, "content": text})
