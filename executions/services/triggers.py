"""What starts runs without a caller waiting: webhooks, schedules and the
heartbeat.  Each queues through :func:`executions.services.queue.execution_queue`.

The definitions they fire (schedules, the heartbeat settings, the webhook
secret) are agent data, kept by ``agents.services.schedules`` and
``agents.services.webhooks``; this module decides, when beat or a webhook
call arrives, whether a run starts and as whom.

Webhook runs are attributed to the agent's owner (subagents need a user
behind the run) and limited to ``AGENTRY_WEBHOOK_RATE_PER_MINUTE`` per agent
per rolling minute, counted from the executions table so every web process
sees the same count.  Schedule and heartbeat runs use the deployed version;
their idempotency key names the minute, so a task delivered twice (or two
beats) starts one run.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.actor import Actor
from agents.models import Agent, AgentStatus, RuntimeState, Schedule
from agents.selectors import deployed_heartbeat, schedule_acting_user
from agents.services.schedules import periodic_task_forget
from core.errors import ApiError
from executions.models import Execution, Trigger
from executions.services import runs
from executions.services.queue import execution_queue

logger = logging.getLogger("agentry.schedules")

RATE_WINDOW = timedelta(minutes=1)


class WebhookRateLimited(ApiError):
    status, code = 429, "rate_limited"


# --- webhooks -------------------------------------------------------------------------------------

def webhook_trigger(*, agent: Agent, body: dict, idempotency_key: str = "",
                    correlation_id: str = "") -> tuple[Execution, bool]:
    """Queue a run with ``body`` as its input (``trigger=webhook``); returns
    ``(execution, created)``.  ``idempotency_key`` replays like ``/run``;
    409 ``agent_not_active`` for a paused agent; 429 past the rate limit."""
    request = runs.run_request(agent, input=body)
    return execution_queue(agent=agent, actor=Actor(user=agent.owner), request=request, trigger=Trigger.WEBHOOK,
                           idempotency_key=_namespaced(idempotency_key), correlation_id=correlation_id,
                           admit=_webhook_rate_check)


def _namespaced(key: str) -> str:
    """The key in its own namespace, so the owner's own ``/run`` keys never
    replay a webhook run (or the reverse); hashed when it would not fit."""
    if not key:
        return ""
    if len(key) > 255 - len("webhook:"):
        key = hashlib.sha256(key.encode()).hexdigest()
    return f"webhook:{key}"


def _webhook_rate_check(execution: Execution) -> None:
    """Refuse the new webhook execution past the agent's rate.  The agent's
    row is locked first: one webhook start at a time per agent, so the count
    (the new execution included) is exact."""
    list(Agent.objects.select_for_update().filter(pk=execution.agent_id).values_list("pk", flat=True))
    limit = settings.AGENTRY_WEBHOOK_RATE_PER_MINUTE
    now = timezone.now()
    recent = Execution.objects.filter(agent_id=execution.agent_id, trigger=Trigger.WEBHOOK,
                                      created_at__gt=now - RATE_WINDOW)
    if recent.count() <= limit:
        return
    oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
    wait = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
    raise WebhookRateLimited(f"This agent accepts at most {limit} webhook runs a minute; retry in {wait} s.",
                             headers={"Retry-After": str(wait)})


# --- schedules and the heartbeat ------------------------------------------------------------------

def schedule_fire(*, schedule_id) -> dict:
    """Start the run a schedule's periodic task asks for, if it still should
    happen: the schedule exists and is enabled, the agent is active and
    running.  Returns what happened (``started`` or ``skipped`` with a reason)."""
    schedule_id = _uuid(schedule_id)
    if schedule_id is None:
        return _skipped("schedule_missing")
    schedule = Schedule.objects.select_related("agent", "agent__owner", "created_by").filter(pk=schedule_id).first()
    if schedule is None:
        # Its schedule is gone (deleted behind the service's back): so goes the task.
        periodic_task_forget(f"agentry.schedule.{schedule_id}")
        return _skipped("schedule_missing")
    if not schedule.enabled:
        return _skipped("schedule_disabled")
    agent = schedule.agent
    reason = _not_firing_reason(agent)
    if reason:
        return _skipped(reason)
    result = _start(agent, trigger=Trigger.SCHEDULE, run_as=schedule_acting_user(schedule),
                    run_input=schedule.input, key=f"schedule:{schedule.pk}")
    if result["status"] == "started":
        Schedule.objects.filter(pk=schedule.pk).update(last_run_at=timezone.now())
    return result


def heartbeat_fire(*, agent_id) -> dict:
    """Start the heartbeat run of a running agent: the deployed version's
    ``heartbeat.prompt`` as ``input.message``, run as the agent's owner."""
    agent_id = _uuid(agent_id)
    if agent_id is None:
        return _skipped("agent_missing")
    agent = Agent.objects.select_related("owner").filter(pk=agent_id).first()
    if agent is None:
        periodic_task_forget(f"agentry.heartbeat.{agent_id}")
        return _skipped("agent_missing")
    reason = _not_firing_reason(agent)
    if reason:
        return _skipped(reason)
    heartbeat = deployed_heartbeat(agent)
    if not heartbeat or not heartbeat.get("enabled"):
        return _skipped("heartbeat_disabled")
    return _start(agent, trigger=Trigger.HEARTBEAT, run_as=agent.owner,
                  run_input={"message": heartbeat.get("prompt", "")}, key="heartbeat")


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _not_firing_reason(agent: Agent) -> str:
    if agent.status != AgentStatus.ACTIVE:
        return "agent_not_active"
    if agent.runtime_state != RuntimeState.RUNNING:
        return "agent_not_running"
    if agent.deployed_version is None:
        return "not_deployed"
    return ""


def _start(agent: Agent, *, trigger: str, run_as, run_input: dict, key: str) -> dict:
    """Queue a run of the deployed version, keyed by the minute.  A request
    the deployed version refuses (input against its schema) is logged and
    nothing is written."""
    run_key = f"{key}:{timezone.now():%Y-%m-%dT%H:%MZ}"
    try:
        request = runs.run_request(agent, input=run_input, version="deployed")
        execution, created = execution_queue(agent=agent, actor=Actor(user=run_as), request=request,
                                             trigger=trigger, idempotency_key=run_key, correlation_id=run_key)
    except ApiError as exc:
        if exc.code == "idempotency_conflict":  # the same minute's run is queued or running
            return _skipped("already_started")
        logger.warning("%s run of agent %s refused: %s %s", trigger, agent.slug, exc.code, exc.detail)
        return {"status": "rejected", "code": exc.code, "detail": exc.detail, "errors": exc.errors or {}}
    if not created:
        return _skipped("already_started", execution_id=str(execution.pk))
    return {"status": "started", "execution_id": str(execution.pk)}


def _skipped(reason: str, **extra) -> dict:
    return {"status": "skipped", "reason": reason, **extra}
