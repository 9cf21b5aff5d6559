"""The periodic reaper and the worker start-up hook, without a worker."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.actor import Actor
from executions import tasks
from executions.models import Execution
from executions.services import reaper, runs
from tests.executions.conftest import THREE_NODES

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(user, make_agent):
    agent = make_agent(user, pipeline=THREE_NODES)

    def make(heartbeat_age: float, worker: str = "celery@box"):
        execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                            request=runs.run_request(agent, prompt="x"))
        Execution.objects.filter(pk=execution.pk).update(
            status="running", worker=worker, heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age))
        return execution
    return make


def test_reaper_task_fails_only_stale_executions(running, settings):
    settings.AGENTRY_EXECUTION_STALE_SECONDS = 60
    stale, alive = running(120), running(5)

    assert tasks.executions_reap_task() == 1

    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == "failed" and stale.error["code"] == "worker_lost"
    assert stale.finished_at is not None and stale.events.last().kind == "done"
    assert alive.status == "running"


def test_reaper_sends_again_only_long_queued_executions(user, make_agent, settings):
    settings.AGENTRY_EXECUTION_STALE_SECONDS = 60
    agent = make_agent(user, pipeline=THREE_NODES)

    def queued(age: float):
        execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                            request=runs.run_request(agent, prompt="x"))
        Execution.objects.filter(pk=execution.pk).update(enqueued_at=timezone.now() - timedelta(seconds=age))
        return execution
    lost, fresh = queued(120), queued(5)

    assert reaper.requeue_lost_executions() == [lost.pk]
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert timezone.now() - fresh.enqueued_at > timedelta(seconds=4)
    assert lost.status == "queued" and timezone.now() - lost.enqueued_at < timedelta(seconds=5)
    assert reaper.requeue_lost_executions() == []  # not again until another stale period passes


def test_a_restarting_worker_fails_what_it_left_running(running):
    mine, other = running(1, worker="celery@box"), running(1, worker="celery@other")

    tasks._fail_orphans(sender=SimpleNamespace(hostname="celery@box"))

    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == "failed" and "restarted" in mine.error["message"]
    assert other.status == "running"


@pytest.mark.django_db(transaction=True)  # the scheduler closes database connections as it starts
def test_beat_schedules_the_reaper():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from config.celery import app

    DatabaseScheduler(app=app)  # what `celery beat` does at start: installs CELERY_BEAT_SCHEDULE
    task = PeriodicTask.objects.get(task="executions.reap_stale")
    assert task.interval.every == 30 and task.interval.period == "seconds"


def test_run_task_is_late_acked_and_time_limited(settings):
    task = tasks.execution_run_task
    assert task.acks_late and task.reject_on_worker_lost
    assert task.soft_time_limit > settings.AGENTRY_EXECUTION_MAX_TIMEOUT
    assert task.time_limit > task.soft_time_limit
