"""How an execution ends: its outcome, totals and ``done`` event written
together, whoever settles it (its run, a cancel, the reaper), and the result
body of API.md §4."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from agents.models import Agent
from core import rows
from executions import live
from executions.models import Execution, ExecutionEvent, ExecutionStatus
from executions.services.recording import event_record
from executions.services.run_log import RunLog, event_message

logger = logging.getLogger("agentry.executions")


def execution_settle(execution_id, from_statuses: tuple[str, ...], **fields) -> Execution | None:
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
                     citations: list | None = None, log: RunLog | None = None) -> None:
    """Write the outcome, totals from the steps, the knowledge passages it
    cited, and the ``done`` event.  Only a still-running execution is
    finished: the reaper or a cancel may have settled it already.

    With the run's ``log`` (the run itself finishing), what the log holds is
    written in the same transaction, the totals come from it, and
    ``execution`` is updated in place when it was settled here."""
    now = timezone.now()
    if log is not None:
        prompt, completion, cost = log.totals()
    else:
        totals = execution.steps.aggregate(prompt=Sum("tokens_prompt"), completion=Sum("tokens_completion"),
                                           cost=Sum("cost_usd"))
        prompt, completion, cost = totals["prompt"] or 0, totals["completion"] or 0, totals["cost"] or 0
    started = execution.started_at or execution.created_at
    fields = dict(status=status, output=output, error=error, finished_at=now,
                  duration_ms=max(0, int((now - started).total_seconds() * 1000)),
                  tokens_prompt=prompt, tokens_completion=completion, cost_usd=cost,
                  **({"citations": citations} if citations else {}))
    if log is None:
        if execution_settle(execution.pk, (ExecutionStatus.RUNNING,), **fields) is not None:
            Agent.objects.filter(pk=execution.agent_id).update(last_activity=now)
        return
    with transaction.atomic():
        settled = rows.update(Execution, execution.pk, fields, status=ExecutionStatus.RUNNING)
        done = None
        if settled:
            for name, value in fields.items():
                setattr(execution, name, value)
            # Nothing comes after it: a spare reserved id, or the database's, above every reserved one.
            done = ExecutionEvent(execution_id=execution.pk, kind="done", data=execution_result(execution),
                                  created_at=now)
        batch = log.take(last=True)
        if done is not None:
            log.number_final(done)
        log.insert(batch, (done,) if done else ())  # the trace is kept even when someone else settled the run
        if settled:
            rows.update(Agent, execution.agent_id, {"last_activity": now})
    log.written(batch)
    if done is not None:  # the outcome and its done are visible together, then announced
        live.publish(execution.pk, event_message(done, after=batch.events[-1].id if batch.events else log.last_id))


def execution_as_settled(execution: Execution) -> Execution:
    """``execution`` after ``execution_finish(execution, ..., log=...)``, with
    its outcome: as it is when that call settled it (the outcome was set on
    it), read again when someone else (a cancel, the reaper) settled it first."""
    if execution.status == ExecutionStatus.RUNNING:
        execution.refresh_from_db()
    return execution


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


def execution_abandon(execution_id, *, reason: str) -> None:
    """Fail an execution that will never run (the broker refused it, its
    thread could not start): whether it got to ``running`` or not, it must not
    stay unfinished."""
    try:
        execution_settle(execution_id, (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING), status=ExecutionStatus.FAILED,
                finished_at=timezone.now(), error={"code": "server_error", "node_id": None, "message": reason})
    except Exception:  # the database itself is failing: the reaper settles it later
        logger.exception("Could not mark execution %s failed", execution_id)
