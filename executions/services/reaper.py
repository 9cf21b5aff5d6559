"""Settling executions whose process died (API.md §4, DESIGN.md "Where it runs").

Beat's reaper task (``executions.reap_stale``) fails running executions whose
heartbeat went stale and sends again the queued ones whose message was lost;
a Celery worker starting up fails what its previous life left running.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, Trigger
from executions.services.runs import execution_finish

logger = logging.getLogger("agentry.executions")


def reap_stale_executions(*, stale_after: float | None = None) -> list:
    """Fail every running execution whose heartbeat stopped: the process
    running it died (a killed worker, a restarted web server)."""
    stale_after = stale_after if stale_after is not None else settings.AGENTRY_EXECUTION_STALE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    reaped = _fail_lost(Execution.objects.filter(status=ExecutionStatus.RUNNING, heartbeat_at__lt=cutoff),
                        "The process running this execution ({worker}) stopped sending heartbeats; "
                        "it was marked failed.")
    if reaped:
        logger.warning("Marked %d stale executions failed: %s", len(reaped), reaped)
    return reaped


def requeue_lost_executions(*, stale_after: float | None = None) -> list:
    """Queued executions handed to the broker more than ``stale_after``
    seconds ago and still unclaimed: their message may be gone (a worker
    killed between taking it and claiming it).  Marks them sent again now and
    returns their ids for the caller to send; a duplicate message (one was
    claimed meanwhile) is harmless, because only one worker can claim an
    execution."""
    stale_after = stale_after if stale_after is not None else settings.AGENTRY_EXECUTION_STALE_SECONDS
    now = timezone.now()
    # Knowledge ingestions are sent to their own task, by the knowledge reaper.
    requeued = list(Execution.objects.filter(status=ExecutionStatus.QUEUED,
                                              enqueued_at__lt=now - timedelta(seconds=stale_after))
                    .exclude(trigger=Trigger.KNOWLEDGE).values_list("pk", flat=True)[:500])
    Execution.objects.filter(pk__in=requeued).update(enqueued_at=now)
    if requeued:
        logger.warning("Sending %d long-queued executions again: %s", len(requeued), requeued)
    return requeued


def fail_executions_of_worker(worker: str) -> list:
    """A Celery worker starting up fails what an earlier process under its
    node name left running (two live workers never share a node name)."""
    return _fail_lost(Execution.objects.filter(status=ExecutionStatus.RUNNING, worker=worker),
                      "The worker running this execution ({worker}) restarted; it was marked failed.")


def _fail_lost(executions, message: str) -> list:
    """Fail ``executions`` as ``worker_lost``; ``message`` may name ``{worker}``."""
    lost = []
    for execution in executions:
        execution_finish(execution, ExecutionStatus.FAILED, error={
            "code": "worker_lost", "node_id": None, "message": message.format(worker=execution.worker or "unknown")})
        lost.append(execution.pk)
    return lost
