"""The fire tasks beat sends (``agents.fire_schedule``, ``agents.fire_heartbeat``):
what they re-check, what they start, and a schedule and a heartbeat firing
for real through a beat process and a worker process."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.actor import Actor
from agents.models import AgentMember, Schedule
from agents.services import agent_set_status, agent_update
from agents.services.runtime import agent_start, agent_stop
from agents.services.schedules import schedule_create
from executions.models import Execution
from executions.tasks import heartbeat_fire_task, schedule_fire_task
from tests.executions.conftest import THREE_NODES, input_node, llm_node, output_node, pipeline
from tests.fakes.beat import celery_beat  # noqa: F401 - the fixture
from tests.fakes.worker import wait_for

HEARTBEAT = {"enabled": True, "cron": "* * * * *", "timezone": "UTC", "prompt": "heartbeat ping"}


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def running_agent(make_agent, owner):
    agent = make_agent(owner, name="Cron Bot", pipeline=THREE_NODES, config={"heartbeat": HEARTBEAT})
    return agent_start(agent=agent, actor=Actor(user=owner))


def add_schedule(agent, user, **data):
    return schedule_create(agent=agent, actor=Actor(user=user),
                           data={"cron": "0 9 * * *", "input": {"message": "scheduled hello"}, **data})


# --- fire_schedule -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_fire_schedule_queues_a_run_of_the_deployed_version(owner, running_agent):
    # given: a draft edited after the deploy
    schedule = add_schedule(running_agent, owner)
    changed = pipeline(input_node(), llm_node(model="gpt-backup"), output_node(), edges=[("input", "llm"),
                                                                                          ("llm", "output")])
    agent_update(agent=running_agent, actor=Actor(user=owner), changes={"pipeline": changed})

    # when
    result = schedule_fire_task(str(schedule.pk))

    # then
    assert result["status"] == "started"
    execution = Execution.objects.get()
    assert str(execution.pk) == result["execution_id"]
    assert execution.trigger == "schedule" and execution.status == "queued"
    assert execution.version == running_agent.deployed_version == 1
    assert execution.options["version"] == 1
    assert execution.input == {"message": "scheduled hello"}
    assert execution.requested_by == owner
    schedule.refresh_from_db()
    assert schedule.last_run_at is not None and timezone.now() - schedule.last_run_at < timedelta(seconds=10)


@pytest.mark.django_db
def test_fire_schedule_twice_in_one_minute_starts_one_run(owner, running_agent):
    schedule = add_schedule(running_agent, owner)

    first = schedule_fire_task(str(schedule.pk))
    second = schedule_fire_task(str(schedule.pk))

    assert first["status"] == "started"
    assert second == {"status": "skipped", "reason": "already_started"}
    assert Execution.objects.count() == 1


@pytest.mark.django_db
def test_fire_schedule_does_nothing_while_the_agent_is_stopped_or_paused(owner, running_agent):
    actor = Actor(user=owner)
    schedule = add_schedule(running_agent, owner)

    agent = agent_stop(agent=running_agent, actor=actor)
    assert schedule_fire_task(str(schedule.pk)) == {"status": "skipped", "reason": "agent_not_running"}

    agent = agent_start(agent=agent, actor=actor)
    agent_set_status(agent=agent, actor=actor, status="paused")
    assert schedule_fire_task(str(schedule.pk)) == {"status": "skipped", "reason": "agent_not_active"}

    assert not Execution.objects.exists()
    schedule.refresh_from_db()
    assert schedule.last_run_at is None


@pytest.mark.django_db
def test_fire_schedule_does_nothing_for_a_disabled_schedule(owner, running_agent):
    schedule = add_schedule(running_agent, owner, enabled=False)

    assert schedule_fire_task(str(schedule.pk)) == {"status": "skipped", "reason": "schedule_disabled"}
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_fire_schedule_of_a_deleted_schedule_removes_its_periodic_task(owner, running_agent):
    schedule = add_schedule(running_agent, owner)
    name = f"agentry.schedule.{schedule.pk}"
    Schedule.objects.filter(pk=schedule.pk).delete()  # behind the service's back
    assert PeriodicTask.objects.filter(name=name).exists()

    result = schedule_fire_task(str(schedule.pk))

    assert result == {"status": "skipped", "reason": "schedule_missing"}
    assert not PeriodicTask.objects.filter(name=name).exists()
    assert schedule_fire_task("garbage") == {"status": "skipped", "reason": "schedule_missing"}


@pytest.mark.django_db
def test_fire_schedule_with_input_the_pipeline_refuses_writes_nothing(owner, running_agent, caplog):
    # The input node requires "message"; the schedule sends something else.
    schedule = add_schedule(running_agent, owner, input={"text": "no message"})

    result = schedule_fire_task(str(schedule.pk))

    assert result["status"] == "rejected" and result["code"] == "validation_error"
    assert "message" in result["detail"]
    assert not Execution.objects.exists()
    schedule.refresh_from_db()
    assert schedule.last_run_at is None
    assert "schedule run of agent" in caplog.text and "refused" in caplog.text


@pytest.mark.django_db
def test_scheduled_run_acts_as_its_creator_while_a_member_else_the_owner(owner, running_agent, make_user,
                                                                         add_member):
    admin = make_user("admin")
    add_member(running_agent, admin, "admin")
    schedule = add_schedule(running_agent, admin)

    schedule_fire_task(str(schedule.pk))
    AgentMember.objects.filter(agent=running_agent, user=admin).delete()
    Execution.objects.update(idempotency_key="")  # let the same minute fire again
    schedule_fire_task(str(schedule.pk))

    assert [e.requested_by for e in Execution.objects.order_by("created_at")] == [admin, owner]


# --- fire_heartbeat ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_heartbeat_does_not_fire_while_stopped(owner, make_agent):
    agent = make_agent(owner, name="Pulse", pipeline=THREE_NODES, config={"heartbeat": HEARTBEAT})
    agent = agent_start(agent=agent, actor=Actor(user=owner))
    agent = agent_stop(agent=agent, actor=Actor(user=owner))

    result = heartbeat_fire_task(str(agent.pk))

    assert result == {"status": "skipped", "reason": "agent_not_running"}
    assert PeriodicTask.objects.get(name=f"agentry.heartbeat.{agent.pk}").enabled is False
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_heartbeat_fires_the_deployed_prompt_when_running(owner, running_agent):
    task = PeriodicTask.objects.get(name=f"agentry.heartbeat.{running_agent.pk}")
    assert task.enabled is True and task.task == "agents.fire_heartbeat"

    result = heartbeat_fire_task(str(running_agent.pk))

    assert result["status"] == "started"
    execution = Execution.objects.get()
    assert execution.trigger == "heartbeat" and execution.status == "queued"
    assert execution.input == {"message": "heartbeat ping"}
    assert execution.version == running_agent.deployed_version
    assert execution.requested_by == owner


@pytest.mark.django_db
def test_heartbeat_disabled_in_the_deployed_version_does_not_fire(owner, make_agent):
    agent = make_agent(owner, name="Quiet", pipeline=THREE_NODES)
    agent = agent_start(agent=agent, actor=Actor(user=owner))

    assert heartbeat_fire_task(str(agent.pk)) == {"status": "skipped", "reason": "heartbeat_disabled"}
    assert not PeriodicTask.objects.filter(name=f"agentry.heartbeat.{agent.pk}").exists()


@pytest.mark.django_db
def test_heartbeat_of_a_deleted_agent_removes_its_task(owner, running_agent):
    name = f"agentry.heartbeat.{running_agent.pk}"
    agent_id = str(running_agent.pk)
    # The agent goes without the service tidying up after it.
    from agents.models import Agent

    Agent.objects.filter(pk=agent_id).delete()

    assert heartbeat_fire_task(agent_id) == {"status": "skipped", "reason": "agent_missing"}
    assert not PeriodicTask.objects.filter(name=name).exists()


# --- through beat and a worker -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_schedule_and_heartbeat_fire_through_beat_and_a_worker(owner, running_agent, llm, celery_worker, request):
    # given: a schedule that matches every minute, and beat's own record
    # saying both tasks last ran minutes ago, so beat finds them due at once
    schedule = add_schedule(running_agent, owner, cron="* * * * *")
    names = [f"agentry.schedule.{schedule.pk}", f"agentry.heartbeat.{running_agent.pk}"]
    assert PeriodicTask.objects.filter(name__in=names, enabled=True).count() == 2
    PeriodicTask.objects.filter(name__in=names).update(last_run_at=timezone.now() - timedelta(minutes=3))

    # when: beat starts beside the worker
    beat = request.getfixturevalue("celery_beat")

    # then: beat sends both, the worker fires them and runs the executions
    def succeeded(trigger):
        return Execution.objects.filter(agent=running_agent, trigger=trigger, status="succeeded").first()

    try:
        scheduled = wait_for(lambda: succeeded("schedule"), timeout=60, interval=0.25)
        heartbeat = wait_for(lambda: succeeded("heartbeat"), timeout=60, interval=0.25)
    except AssertionError:
        raise AssertionError(f"beat log:\n{beat.output()[-3000:]}") from None
    assert scheduled.version == heartbeat.version == running_agent.deployed_version
    assert scheduled.output == "echo: scheduled hello" and scheduled.input == {"message": "scheduled hello"}
    assert heartbeat.output == "echo: heartbeat ping"
    assert scheduled.worker == celery_worker.hostname
    schedule.refresh_from_db()
    assert schedule.last_run_at is not None
    log = beat.output()
    assert f"Sending due task {names[0]} (agents.fire_schedule)" in log
    assert f"Sending due task {names[1]} (agents.fire_heartbeat)" in log
