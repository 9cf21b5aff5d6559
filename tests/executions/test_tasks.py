"""The run task and the executor it hands runs to, the periodic reaper and the
worker start-up hook, without a worker process."""

import os
import subprocess
import sys
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Reject
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.actor import Actor
from executions import tasks
from executions.models import Execution
from executions.services import reaper, runs
from executions.worker import ExecutionRunner, WorkerStopping
from tests.executions.conftest import THREE_NODES
from tests.fakes.llm_server import Reply
from tests.fakes.worker import wait_for

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


# --- the run task and executions.worker ------------------------------------------------------------


@pytest.fixture
def queued(user, make_agent):
    agent = make_agent(user, pipeline=THREE_NODES)

    def make(prompt="x"):
        execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                            request=runs.run_request(agent, prompt=prompt))
        return execution
    return make


@pytest.mark.django_db(transaction=True)  # the run goes on in another thread, with its own connection
def test_run_task_returns_once_the_execution_is_claimed_and_the_run_goes_on(queued, llm):
    # given a queued run whose model takes a second
    llm.script("gpt-main", [Reply(text="in the loop", delay=1.0)])
    execution = queued()

    # when the task takes it
    result = tasks.execution_run_task.apply(args=[str(execution.pk)]).get()

    # then it returned with the execution claimed, still running
    assert result == "running"
    execution.refresh_from_db()
    assert execution.status == "running" and execution.worker and execution.started_at is not None
    done = wait_for(lambda: Execution.objects.filter(pk=execution.pk, status="succeeded").first())
    assert done.output == "in the loop"
    assert [event.kind for event in done.events.all()][-1] == "done"


@pytest.mark.django_db(transaction=True)
def test_run_task_does_nothing_for_an_execution_someone_else_claimed(queued, llm):
    execution = queued()
    assert runs.execution_claim(execution.pk, worker="celery@other")

    assert tasks.execution_run_task.apply(args=[str(execution.pk)]).get() is None

    execution.refresh_from_db()
    assert execution.status == "running" and execution.worker == "celery@other"
    assert llm.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_full_runner_that_is_stopping_refuses_the_next_run_and_drains_the_ones_it_has(queued, llm, settings):
    # given a one-slot runner busy with a run
    settings.AGENTRY_WORKER_CONCURRENCY = 1
    llm.script("gpt-main", [Reply(text="kept", delay=1.0)])
    runner = ExecutionRunner()
    busy, waiting = queued("busy"), queued("waiting")
    assert runner.run(busy.pk, worker="celery@box") is True
    refused = []

    def take_the_next():
        try:
            runner.run(waiting.pk, worker="celery@box")
        except WorkerStopping:
            refused.append(waiting.pk)
    taker = threading.Thread(target=take_the_next)
    taker.start()

    # when the worker stops taking runs
    runner.stop_taking()
    taker.join(timeout=5)

    # then the waiting run was refused unclaimed, and the busy one ends before the drain returns
    assert refused == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.status == "queued" and waiting.worker == ""
    assert runner.drain(timeout=30) is True
    assert runner.in_flight() == 0
    busy.refresh_from_db()
    assert busy.status == "succeeded" and busy.output == "kept" and busy.worker == "celery@box"


@pytest.mark.django_db(transaction=True)
def test_run_task_gives_the_message_back_when_the_worker_is_stopping(queued, llm, monkeypatch, settings):
    settings.AGENTRY_WORKER_CONCURRENCY = 1
    llm.script("gpt-main", [Reply(delay=1.0)])
    stopping = ExecutionRunner()
    assert stopping.run(queued().pk, worker="celery@box")  # its one slot is busy
    stopping.stop_taking()
    monkeypatch.setattr(tasks, "runner", stopping)
    execution = queued()

    with pytest.raises(Reject) as rejected:
        tasks.execution_run_task.run(str(execution.pk))

    assert rejected.value.requeue is True
    execution.refresh_from_db()
    assert execution.status == "queued"
    assert stopping.drain(timeout=30)


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_worker_concurrency_must_be_a_whole_number_of_at_least_one(value):
    env = {**os.environ, "AGENTRY_WORKER_CONCURRENCY": value, "DJANGO_SETTINGS_MODULE": "config.settings"}

    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                            cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert f"AGENTRY_WORKER_CONCURRENCY must be a whole number of at least 1, not {value!r}" in result.stderr
