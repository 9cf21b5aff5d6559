"""Writing the trace: one ``ExecutionStep`` per node, one ``ExecutionEvent``
per thing a stream should show, each announced on the live hub once stored."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from executions import live
from executions.engine.context import StepOutcome
from executions.engine.nodes import NODES
from executions.engine.templating import as_text
from executions.models import ExecutionEvent, ExecutionStep

MAX_EVENT_CONTENT = 20_000



def event_record(execution_id, kind: str, data: dict) -> ExecutionEvent:
    event = ExecutionEvent.objects.create(execution_id=execution_id, kind=kind, data=data)
    transaction.on_commit(lambda: live.publish(execution_id, {"type": "event", "id": event.id}))
    return event


def _step_start(execution_id, sequence: int, node_id: str, node_type: str, step_input) -> ExecutionStep:
    step = ExecutionStep.objects.create(execution_id=execution_id, sequence=sequence, node_id=node_id,
                                        node_type=node_type, input=step_input)
    event_record(execution_id, "node_started", {"step_id": str(step.id), "node_id": node_id, "type": node_type})
    return step


def _step_finish(step: ExecutionStep, status: str, outcome: StepOutcome | None, error: dict | None) -> None:
    now = timezone.now()
    step.status, step.error, step.finished_at = status, error, now
    step.duration_ms = max(0, int((now - step.started_at).total_seconds() * 1000))
    if outcome is not None:
        step.output = outcome.output
        step.provider, step.model, step.attempts = outcome.provider, outcome.model, outcome.attempts
        step.tokens_prompt, step.tokens_completion = outcome.tokens_prompt, outcome.tokens_completion
        step.cost_usd = outcome.cost_usd
    step.save()
    if status == "succeeded" and step.node_type == "agent":
        return  # its iterations were streamed as they happened
    if status != "succeeded":
        content = (error or {}).get("message", status)
    elif step.node_type == "input" and isinstance(step.output, dict) and isinstance(step.output.get("message"), str):
        content = step.output["message"]  # what the user said, as a chat would show it
    else:
        content = as_text(step.output)
    event_record(step.execution_id, "step", {
        "id": str(step.id), "role": _stream_role(step.node_type), "content": content[:MAX_EVENT_CONTENT],
        "node_id": step.node_id, "agent_iteration_id": None, "type": step.node_type, "status": status,
        "duration_ms": step.duration_ms, "tokens_used": step.tokens_used})


def _stream_role(node_type: str) -> str:
    node = NODES.get(node_type)  # a subagent's steps carry their own types, all in the catalogue
    return node.stream_role if node is not None else "tool"


class DatabaseRecorder:
    """The engine's ``Recorder``: writes through the ORM off the event loop."""

    def __init__(self, execution_id):
        self.execution_id = execution_id
        self._sequence = 0

    async def step_started(self, node_id: str, node_type: str, step_input) -> ExecutionStep:
        self._sequence += 1
        return await sync_to_async(_step_start)(self.execution_id, self._sequence, node_id, node_type, step_input)

    async def step_finished(self, step, *, status: str, outcome: StepOutcome | None, error: dict | None) -> None:
        await sync_to_async(_step_finish)(step, status, outcome, error)

    async def event(self, kind: str, data: dict) -> None:
        await sync_to_async(event_record)(self.execution_id, kind, data)

    async def delta(self, node_id: str, text: str) -> None:
        await live.apublish(self.execution_id, {"type": "delta", "node_id": node_id, "content": text})
