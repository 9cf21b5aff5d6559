"""Cron schedules and the heartbeat, kept as django-celery-beat periodic tasks.

Each ``Schedule`` owns one ``PeriodicTask`` (task ``agents.fire_schedule``);
an agent's heartbeat is one more (``agents.fire_heartbeat``), built from the
deployed version's ``config.heartbeat``.  :func:`periodic_tasks_sync` keeps
them in step with the agent: a task is enabled only while its schedule (or
heartbeat) is enabled and the agent is active and running, so beat never
fires a paused or stopped agent.  Firing is the executions app's
(``executions.services.triggers``), which checks again when a task runs.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from accounts.actor import Actor
from agents.errors import NameTaken
from agents.inputs.schedules import ScheduleFieldsSerializer
from agents.models import Agent, AgentStatus, AuditAction, RuntimeState, Schedule
from agents.selectors import deployed_heartbeat
from agents.services.audit import audit_record
from core.diffs import diff
from core.errors import NotFound
from core.naming import first_free
from core.validation import validated

SCHEDULE_TASK = "agents.fire_schedule"
HEARTBEAT_TASK = "agents.fire_heartbeat"
SCHEDULE_FIELDS = ("name", "cron", "timezone", "input", "enabled")


def _validated(data, *, partial: bool = False) -> dict:
    return dict(validated(ScheduleFieldsSerializer(data=data, partial=partial)))


# --- periodic tasks -------------------------------------------------------------------------------

def _crontab_row(cron: str, tz: str) -> CrontabSchedule:
    minute, hour, day_of_month, month, day_of_week = cron.split()
    row, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week,
        timezone=ZoneInfo(tz),
    )
    return row


def agent_fires(agent: Agent) -> bool:
    """Whether beat may fire the agent's schedules and heartbeat now."""
    return agent.status == AgentStatus.ACTIVE and agent.runtime_state == RuntimeState.RUNNING


def schedule_task_name(schedule: Schedule) -> str:
    return f"agentry.schedule.{schedule.pk}"


def heartbeat_task_name(agent: Agent) -> str:
    return f"agentry.heartbeat.{agent.pk}"


def _task_save(task: PeriodicTask, *, cron: str, tz: str, args: list, enabled: bool, description: str) -> None:
    crontab_row = _crontab_row(cron, tz)
    if task.crontab_id != crontab_row.pk:
        # A new cron counts from now: without this, beat would fire at once
        # for a time the new cron matched since the last run.
        task.last_run_at = None
    task.crontab = crontab_row
    task.args = json.dumps(args)
    task.enabled = enabled
    task.description = description
    task.save()  # a disabled task forgets last_run_at, so a re-enabled one does not catch up


def _schedule_task_save(schedule: Schedule, agent: Agent) -> None:
    """Create or update the schedule's periodic task to match it."""
    name = schedule_task_name(schedule)
    task = (schedule.periodic_task or PeriodicTask.objects.filter(name=name).first()
            or PeriodicTask(name=name, task=SCHEDULE_TASK))
    _task_save(task, cron=schedule.cron, tz=schedule.timezone, args=[str(schedule.pk)],
               enabled=schedule.enabled and agent_fires(agent),
               description=f"Schedule {schedule.name!r} of agent {agent.slug}")
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        Schedule.objects.filter(pk=schedule.pk).update(periodic_task=task)


def _heartbeat_task_save(agent: Agent) -> None:
    heartbeat = deployed_heartbeat(agent)
    name = heartbeat_task_name(agent)
    tz = (heartbeat or {}).get("timezone") or "UTC"
    if not heartbeat or not heartbeat.get("enabled"):
        PeriodicTask.objects.filter(name=name).delete()
        return
    task = PeriodicTask.objects.filter(name=name).first() or PeriodicTask(name=name, task=HEARTBEAT_TASK)
    _task_save(task, cron=heartbeat["cron"], tz=tz, args=[str(agent.pk)], enabled=agent_fires(agent),
               description=f"Heartbeat of agent {agent.slug}")


def periodic_tasks_sync(agent: Agent) -> None:
    """Bring the agent's periodic tasks (schedules and heartbeat) in line
    with its status, runtime state and deployed version."""
    for schedule in Schedule.objects.filter(agent=agent).select_related("periodic_task"):
        _schedule_task_save(schedule, agent)
    _heartbeat_task_save(agent)
    PeriodicTasks.update_changed()


def periodic_task_forget(name: str) -> None:
    """Remove the periodic task ``name`` whose schedule or agent is gone."""
    PeriodicTask.objects.filter(name=name).delete()
    PeriodicTasks.update_changed()


def periodic_tasks_delete(agent: Agent) -> None:
    """Remove the agent's periodic tasks (before the agent is deleted)."""
    schedules = list(Schedule.objects.filter(agent=agent).values_list("pk", "periodic_task"))
    names = [heartbeat_task_name(agent), *(f"agentry.schedule.{pk}" for pk, _task in schedules)]
    task_ids = [task for _pk, task in schedules if task is not None]
    PeriodicTask.objects.filter(Q(name__in=names) | Q(pk__in=task_ids)).delete()
    PeriodicTasks.update_changed()


# --- schedules ------------------------------------------------------------------------------------

def _free_name(agent: Agent, cron: str) -> str:
    return first_free(f"cron {cron}", set(Schedule.objects.filter(agent=agent).values_list("name", flat=True)))


def _snapshot(schedule: Schedule) -> dict:
    return {"name": schedule.name, "cron": schedule.cron, "timezone": schedule.timezone,
            "input": schedule.input, "enabled": schedule.enabled, "primary": schedule.primary}


def _save(schedule: Schedule, *, create: bool) -> None:
    try:
        with transaction.atomic():
            schedule.save(force_insert=create)
    except IntegrityError:
        raise NameTaken(f"This agent already has a schedule named {schedule.name!r}.",
                                errors={"name": ["Already in use."]})


@transaction.atomic
def schedule_create(*, agent: Agent, actor: Actor, data: dict, primary: bool = False) -> Schedule:
    """Add a schedule (validated: cron, IANA time zone, input object) and its periodic task."""
    clean = _validated(data)
    schedule = Schedule(agent=agent, primary=primary, created_by=_user(actor), **clean)
    schedule.name = clean.get("name") or _free_name(agent, clean["cron"])
    _save(schedule, create=True)
    _schedule_task_save(schedule, agent)
    PeriodicTasks.update_changed()
    audit_record(agent=agent, actor=actor, action=AuditAction.SCHEDULE_CREATED,
                 changes=diff({}, {"schedule": {"id": str(schedule.pk), **_snapshot(schedule)}}))
    return schedule


@transaction.atomic
def schedule_update(*, schedule: Schedule, actor: Actor, data: dict) -> Schedule:
    """Change some of a schedule's fields; its periodic task follows."""
    clean = _validated(data, partial=True)
    # Lock the schedule row alone: PostgreSQL refuses FOR UPDATE on the
    # nullable side of the outer join to periodic_task.
    schedule = (Schedule.objects.select_for_update(of=("self",)).select_related("agent", "periodic_task")
                .get(pk=schedule.pk))
    before = _snapshot(schedule)
    for field, value in clean.items():
        setattr(schedule, field, value)
    changes = diff({"schedule": before}, {"schedule": _snapshot(schedule)})
    if not changes:
        return schedule
    schedule.updated_at = timezone.now()
    _save(schedule, create=False)
    _schedule_task_save(schedule, schedule.agent)
    PeriodicTasks.update_changed()
    audit_record(agent=schedule.agent, actor=actor, action=AuditAction.SCHEDULE_UPDATED,
                 changes={"schedule.id": {"old": str(schedule.pk), "new": str(schedule.pk)}, **changes})
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule, actor: Actor) -> None:
    """Remove a schedule and its periodic task."""
    audit_record(agent=schedule.agent, actor=actor, action=AuditAction.SCHEDULE_DELETED,
                 changes=diff({"schedule": {"id": str(schedule.pk), **_snapshot(schedule)}}, {}))
    PeriodicTask.objects.filter(name=schedule_task_name(schedule)).delete()
    schedule.delete()
    PeriodicTasks.update_changed()


@transaction.atomic
def primary_schedule_set(*, agent: Agent, actor: Actor, data: dict) -> tuple[Schedule, bool]:
    """``POST /agents/{agent}/schedule``: create the primary schedule, or
    replace its fields when there is one.  Returns it and whether it was created."""
    current = Schedule.objects.select_for_update().filter(agent=agent, primary=True).first()
    if current is None:
        return schedule_create(agent=agent, actor=actor, data=data, primary=True), True
    if not isinstance(data, dict):
        _validated(data)  # raises: not an object
    full = {"timezone": "UTC", "input": {}, "enabled": True, **data}
    _validated(full)  # the primary schedule is replaced whole: cron is required
    return schedule_update(schedule=current, actor=actor, data=full), False


def primary_schedule_delete(*, agent: Agent, actor: Actor) -> None:
    """``DELETE /agents/{agent}/schedule``; 404 when the agent has none."""
    current = Schedule.objects.filter(agent=agent, primary=True).select_related("agent").first()
    if current is None:
        raise NotFound("This agent has no primary schedule.")
    schedule_delete(schedule=current, actor=actor)


def _user(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None
