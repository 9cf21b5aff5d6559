"""Celery tasks: running queued executions, and reaping those whose process died."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction

from executions.services import runs

logger = logging.getLogger("agentry.executions")


@shared_task(name="executions.run", bind=True, acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=settings.AGENTRY_EXECUTION_MAX_TIMEOUT + 30,
             time_limit=settings.AGENTRY_EXECUTION_MAX_TIMEOUT + 60)
def run_execution(self, execution_id: str) -> str | None:
    """Run one queued execution.  A redelivered message (the worker died after
    taking it) finds the execution already claimed and does nothing; the
    reaper settles the one that was running."""
    execution = runs.execution_run(execution_id, worker=self.request.hostname or "")
    return execution.status if execution is not None else None


@shared_task(name="executions.reap_stale")
def reap_stale_executions() -> int:
    """Send again queued executions whose message was lost, and fail running
    ones whose heartbeat stopped; returns how many were failed."""
    for execution_id in runs.requeue_lost_executions():
        _send(execution_id)
    return len(runs.reap_stale_executions())


@worker_ready.connect
def _fail_orphans(sender=None, **kwargs):
    """This worker's previous life may have died mid-run: settle its executions now
    rather than after the heartbeat goes stale."""
    hostname = getattr(sender, "hostname", None)
    if hostname:
        orphans = runs.fail_executions_of_worker(hostname)
        if orphans:
            logger.warning("Worker %s restarted; marked %d of its executions failed", hostname, len(orphans))


def enqueue(execution) -> None:
    """Hand a queued execution to the workers once its row is committed.  If
    the broker cannot take it, the execution fails at once rather than
    waiting in ``queued`` for a message that was never sent."""
    transaction.on_commit(lambda: _send(execution.pk))


def _send(execution_id) -> None:
    try:
        run_execution.delay(str(execution_id))
    except Exception:  # kombu raises many types for an unreachable broker
        logger.exception("Could not queue execution %s", execution_id)
        runs.execution_abandon(execution_id, reason="The task queue is unavailable; the execution was not started.")
