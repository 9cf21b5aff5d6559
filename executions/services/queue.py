"""Handing executions to the workers.

:func:`execution_queue` is the one way a run is queued, whoever asks: the
async run API, webhooks, schedules and heartbeats.  It writes the queued
execution and sends the run task once that row is committed, so a worker
never looks for a row that was rolled back.  The task is sent by name, so
services never import the task modules that call them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext

from celery import current_app
from django.db import transaction

from accounts.actor import Actor
from agents.models import Agent
from executions.models import Execution
from executions.services import runs

logger = logging.getLogger("agentry.executions")

RUN_TASK = "executions.run"


def execution_send(execution_id) -> None:
    """Send the run task for ``execution_id`` now.  If the broker cannot take
    it, the execution fails at once rather than waiting in ``queued`` for a
    message that was never sent."""
    try:
        current_app.send_task(RUN_TASK, args=[str(execution_id)])
    except Exception:  # kombu raises many types for an unreachable broker
        logger.exception("Could not queue execution %s", execution_id)
        runs.execution_abandon(execution_id, reason="The task queue is unavailable; the execution was not started.")


def execution_queue(*, agent: Agent, actor: Actor, request: runs.RunRequest, trigger: str,
                    idempotency_key: str = "", correlation_id: str = "",
                    admit: Callable[[Execution], None] | None = None) -> tuple[Execution, bool]:
    """Write a queued execution and send it to the workers once committed;
    returns ``(execution, created)`` as ``execution_start`` does (a replayed
    idempotency key sends nothing).  ``admit`` runs inside the transaction for
    a new execution and may raise to refuse it: then nothing is kept or sent.

    A new execution's ``status`` is read back after the send, so the caller
    sees ``failed`` when the broker refused it."""
    # Only an admission check needs the insert inside a transaction it can roll
    # back; without one, execution_start commits the row itself and the send
    # follows at once (or at the commit of a transaction the caller holds).
    with transaction.atomic() if admit is not None else nullcontext():
        execution, created = runs.execution_start(
            agent=agent, actor=actor, request=request, trigger=trigger, queued=True,
            idempotency_key=idempotency_key, correlation_id=correlation_id)
        if created:
            if admit is not None:
                admit(execution)
            transaction.on_commit(lambda: execution_send(execution.pk))
    if created:
        execution.refresh_from_db(fields=["status"])
    return execution, created
