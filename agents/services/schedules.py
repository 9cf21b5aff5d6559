"""Cron schedules and the heartbeat, kept as django-celery-beat periodic tasks.

Each ``Schedule`` owns one ``PeriodicTask`` (task ``agents.fire_schedule``);
an agent's heartbeat is one more (``agents.fire_heartbeat``), built from the
deployed version's ``config.heartbeat``.  :func:`periodic_tasks_sync` keeps
them in step with the agent: a task is enabled only while its schedule (or
heartbeat) is enabled and the agent is active and running, so beat never
fires a paused or stopped agent.  The fire tasks check again when they run.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks
from django_celery_beat.tzcrontab import TzAwareCrontab
from rest_framework import serializers

from accounts.actor import Actor
from agents.config import validate_cron, validate_timezone
from agents.models import Agent, AgentStatus, AgentVersion, AuditAction, RuntimeState, Schedule
from agents.services.audit import audit_record, diff
from core.errors import ApiError, ValidationFailed, flatten_errors

SCHEDULE_TASK = "agents.fire_schedule"
HEARTBEAT_TASK = "agents.fire_heartbeat"
NEXT_RUNS = 5
SCHEDULE_FIELDS = ("name", "cron", "timezone", "input", "enabled")


class ScheduleNameTaken(ApiError):
    status, code = 409, "name_taken"


class ScheduleFieldsSerializer(serializers.Serializer):
    """The writable fields of a schedule; also their OpenAPI description."""

    name = serializers.CharField(max_length=100, required=False,
                                 help_text="Unique per agent; derived from the cron when absent.")
    cron = serializers.CharField(max_length=100, validators=[validate_cron],
                                 help_text="Five fields: minute hour day-of-month month day-of-week.")
    timezone = serializers.CharField(max_length=64, default="UTC", validators=[validate_timezone],
                                     help_text="IANA time zone the cron is read in.")
    input = serializers.DictField(default=dict, help_text="The run's input, as for invoke.")
    enabled = serializers.BooleanField(default=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


def _validated(data, *, partial: bool = False) -> dict:
    serializer = ScheduleFieldsSerializer(data=data, partial=partial)
    if not serializer.is_valid():
        raise ValidationFailed.from_errors(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)


def next_runs(cron: str, tz: str, *, count: int = NEXT_RUNS, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` times ``cron`` fires in time zone ``tz``, in UTC."""
    zone = ZoneInfo(tz)
    moment = (after or timezone.now()).astimezone(zone)
    crontab = _crontab(cron, zone)
    runs = []
    for _ in range(count):
        start, delta, _now = crontab.remaining_delta(moment)
        moment = start + delta
        runs.append(moment.astimezone(ZoneInfo("UTC")))
    return runs


def _crontab(cron: str, zone: ZoneInfo) -> TzAwareCrontab:
    minute, hour, day_of_month, month, day_of_week = cron.split()
    return TzAwareCrontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
                          day_of_week=day_of_week, tz=zone)


def _crontab_row(cron: str, tz: str) -> CrontabSchedule:
    minute, hour, day_of_month, month, day_of_week = cron.split()
    row, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week,
        timezone=ZoneInfo(tz),
    )
    return row


def _agent_fires(agent: Agent) -> bool:
    return agent.status == AgentStatus.ACTIVE and agent.runtime_state == RuntimeState.RUNNING


def schedule_task_name(schedule: Schedule) -> str:
    return f"agentry.schedule.{schedule.pk}"


def heartbeat_task_name(agent: Agent) -> str:
    return f"agentry.heartbeat.{agent.pk}"


def _schedule_task_save(schedule: Schedule, agent: Agent) -> None:
    """Create or update the schedule's periodic task to match it."""
    task = schedule.periodic_task or PeriodicTask(name=schedule_task_name(schedule), task=SCHEDULE_TASK)
    task.crontab = _crontab_row(schedule.cron, schedule.timezone)
    task.args = json.dumps([str(schedule.pk)])
    task.enabled = schedule.enabled and _agent_fires(agent)
    task.description = f"Schedule {schedule.name!r} of agent {agent.slug}"
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        Schedule.objects.filter(pk=schedule.pk).update(periodic_task=task)


def deployed_heartbeat(agent: Agent) -> dict | None:
    """The deployed version's heartbeat settings, or ``None`` when there is no deployed version."""
    if agent.deployed_version is None:
        return None
    config = (AgentVersion.objects.filter(agent=agent, index=agent.deployed_version)
              .values_list("config", flat=True).first())
    return (config or {}).get("heartbeat")


def _heartbeat_task_save(agent: Agent) -> None:
    heartbeat = deployed_heartbeat(agent)
    name = heartbeat_task_name(agent)
    if not heartbeat or not heartbeat.get("enabled"):
        PeriodicTask.objects.filter(name=name).delete()
        return
    task = PeriodicTask.objects.filter(name=name).first() or PeriodicTask(name=name, task=HEARTBEAT_TASK)
    task.crontab = _crontab_row(heartbeat["cron"], heartbeat.get("timezone") or "UTC")
    task.args = json.dumps([str(agent.pk)])
    task.enabled = _agent_fires(agent)
    task.description = f"Heartbeat of agent {agent.slug}"
    task.save()


def periodic_tasks_sync(agent: Agent) -> None:
    """Bring the agent's periodic tasks (schedules and heartbeat) in line
    with its status, runtime state and deployed version."""
    for schedule in Schedule.objects.filter(agent=agent).select_related("periodic_task"):
        _schedule_task_save(schedule, agent)
    _heartbeat_task_save(agent)
    PeriodicTasks.update_changed()


def periodic_tasks_delete(agent: Agent) -> None:
    """Remove the agent's periodic tasks (before the agent is deleted)."""
    names = [heartbeat_task_name(agent)]
    task_ids = Schedule.objects.filter(agent=agent).exclude(periodic_task=None).values_list("periodic_task", flat=True)
    PeriodicTask.objects.filter(pk__in=list(task_ids)).delete()
    PeriodicTask.objects.filter(name__in=names).delete()
    PeriodicTasks.update_changed()


def _free_name(agent: Agent, cron: str) -> str:
    taken = set(Schedule.objects.filter(agent=agent).values_list("name", flat=True))
    base = f"cron {cron}"[:90]
    name, n = base, 2
    while name in taken:
        name = f"{base} ({n})"
        n += 1
    return name


def _snapshot(schedule: Schedule) -> dict:
    return {"name": schedule.name, "cron": schedule.cron, "timezone": schedule.timezone,
            "input": schedule.input, "enabled": schedule.enabled, "primary": schedule.primary}


def _save(schedule: Schedule, *, create: bool) -> None:
    try:
        with transaction.atomic():
            schedule.save(force_insert=create)
    except IntegrityError:
        raise ScheduleNameTaken(f"This agent already has a schedule named {schedule.name!r}.",
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
    schedule = Schedule.objects.select_for_update().select_related("agent", "periodic_task").get(pk=schedule.pk)
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
    if schedule.periodic_task_id:
        PeriodicTask.objects.filter(pk=schedule.periodic_task_id).delete()
    schedule.delete()
    PeriodicTasks.update_changed()


@transaction.atomic
def primary_schedule_set(*, agent: Agent, actor: Actor, data: dict) -> tuple[Schedule, bool]:
    """``POST /agents/{agent}/schedule``: create the primary schedule, or
    replace its fields when there is one.  Returns it and whether it was created."""
    current = Schedule.objects.select_for_update().filter(agent=agent, primary=True).first()
    if current is None:
        return schedule_create(agent=agent, actor=actor, data=data, primary=True), True
    full = {"timezone": "UTC", "input": {}, "enabled": True, **data}
    _validated(full)  # the primary schedule is replaced whole: cron is required
    return schedule_update(schedule=current, actor=actor, data=full), False


def _user(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None
