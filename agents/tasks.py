"""Celery tasks beat sends for schedules and heartbeats (django-celery-beat
periodic tasks kept by ``agents.services.schedules``).  Each re-checks at fire
time and queues an execution of the deployed version; the result says what
happened (``started``, ``skipped`` with a reason, or ``rejected``)."""

from __future__ import annotations

from celery import shared_task

from agents.services import schedules


@shared_task(name="agents.fire_schedule")
def fire_schedule_task(schedule_id: str) -> dict:
    """Run a schedule's input through the agent's deployed version."""
    return schedules.schedule_fire(schedule_id=schedule_id)


@shared_task(name="agents.fire_heartbeat")
def fire_heartbeat_task(agent_id: str) -> dict:
    """Send the deployed heartbeat prompt to a running agent."""
    return schedules.heartbeat_fire(agent_id=agent_id)
