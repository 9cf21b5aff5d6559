"""Celery tasks: running queued executions, reaping those whose process died,
and firing schedules and heartbeats (the periodic tasks beat sends, kept by
``agents.services.schedules``).  Each is thin: ids in, a service call out.

Task names are stored in the broker's messages and in beat's periodic task
rows, so they never change when the code moves: the fire tasks keep the
``agents.`` names they were created with.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import Reject
from celery.signals import worker_ready
from django.conf import settings

from agents.services.schedules import HEARTBEAT_TASK, SCHEDULE_TASK
from executions.models import ExecutionStatus
from executions.services import reaper, triggers
from executions.services.queue import RUN_TASK, execution_send
from executions.worker import WorkerStopping, runner

logger = logging.getLogger("agentry.executions")


@shared_task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=settings.AGENTRY_EXECUTION_MAX_TIMEOUT + 30,
             time_limit=settings.AGENTRY_EXECUTION_MAX_TIMEOUT + 60)
def execution_run_task(self, execution_id: str) -> str | None:
    """Claim one queued execution and start it among this process's running
    ones (``executions.worker``); returns ``running`` once claimed, ``None`` if
    someone else had it.  A redelivered message (the worker died after taking
    it) finds the execution already claimed and does nothing; the reaper
    settles the one that was running.  A worker stopping while the task waits
    for a free slot gives the message back for another worker."""
    try:
        claimed = runner.run(execution_id, worker=self.request.hostname or "")
    except WorkerStopping:
        raise Reject("the worker is stopping", requeue=True) from None
    return ExecutionStatus.RUNNING if claimed else None


@shared_task(name="executions.reap_stale")
def executions_reap_task() -> int:
    """Send again queued executions whose message was lost, and fail running
    ones whose heartbeat stopped; returns how many were failed."""
    for execution_id in reaper.requeue_lost_executions():
        execution_send(execution_id)
    return len(reaper.reap_stale_executions())


@shared_task(name=SCHEDULE_TASK)
def schedule_fire_task(schedule_id: str) -> dict:
    """Run a schedule's input through the agent's deployed version; the result
    says what happened (``started``, ``skipped`` with a reason, or ``rejected``)."""
    return triggers.schedule_fire(schedule_id=schedule_id)


@shared_task(name=HEARTBEAT_TASK)
def heartbeat_fire_task(agent_id: str) -> dict:
    """Send the deployed heartbeat prompt to a running agent."""
    return triggers.heartbeat_fire(agent_id=agent_id)


@worker_ready.connect
def _fail_orphans(sender=None, **kwargs):
    """This worker's previous life may have died mid-run: settle its executions now
    rather than after the heartbeat goes stale."""
    hostname = getattr(sender, "hostname", None)
    if hostname:
        orphans = reaper.fail_executions_of_worker(hostname)
        if orphans:
            logger.warning("Worker %s restarted; marked %d of its executions failed", hostname, len(orphans))
