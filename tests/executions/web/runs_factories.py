"""Executions and steps written straight to the database, for the console's
run pages (the engine's own recording is tested in tests/executions)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from executions.models import Execution, ExecutionStep


def make_execution(agent, *, at=None, status="succeeded", trigger="api", duration=None, prompt=0, completion=0,
                   cost="0", **fields):
    at = at or timezone.now()
    finished = status not in ("queued", "running")
    return Execution.objects.create(
        agent=agent, status=status, trigger=trigger, timeout_ms=30_000, created_at=at,
        started_at=None if status == "queued" else at,
        finished_at=at + timedelta(milliseconds=duration or 0) if finished else None,
        duration_ms=duration, tokens_prompt=prompt, tokens_completion=completion, cost_usd=Decimal(cost), **fields)


def make_step(execution, sequence, node_id, *, start_ms, duration=None, node_type="llm_call", status="succeeded",
              **fields):
    started = (execution.started_at or execution.created_at) + timedelta(milliseconds=start_ms)
    return ExecutionStep.objects.create(
        execution=execution, sequence=sequence, node_id=node_id, node_type=node_type, status=status,
        started_at=started, duration_ms=duration,
        finished_at=started + timedelta(milliseconds=duration) if duration is not None else None, **fields)
