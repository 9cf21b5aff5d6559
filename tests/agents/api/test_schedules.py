"""Cron schedules: the API (CRUD, the primary schedule, validation, roles),
next runs, and the django-celery-beat periodic tasks kept in step with the agent."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.actor import Actor
from agents.cron import next_runs
from agents.models import AuditLogEntry, Schedule
from agents.services import agent_delete, agent_set_status
from agents.services.runtime import agent_start, agent_stop
from agents.services.schedules import periodic_tasks_sync, schedule_create
from tests.conftest import problem
from tests.executions.conftest import THREE_NODES
from tests.role_matrix import Endpoint, RoleMatrix

UTC = ZoneInfo("UTC")
SCHEDULE_KEYS = {"id", "name", "cron", "timezone", "input", "enabled", "primary", "next_runs", "last_run_at",
                 "created_at", "updated_at"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Cron Bot", slug="cron-bot", pipeline=THREE_NODES)


def add_schedule(agent, owner, **data):
    return schedule_create(agent=agent, actor=Actor(user=owner), data={"cron": "0 9 * * *", **data})


def periodic_task(schedule) -> PeriodicTask:
    return PeriodicTask.objects.get(name=f"agentry.schedule.{schedule.pk}")


# --- CRUD -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_create_schedule_answers_201_with_the_representation(api, owner, agent):
    # given
    body = {"name": "Morning", "cron": "0 9 * * *", "timezone": "America/New_York", "input": {"message": "hi"}}

    # when
    response = api(owner).post(f"/api/v1/agents/{agent.slug}/schedules", body, format="json")

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == SCHEDULE_KEYS
    assert data["name"] == "Morning" and data["cron"] == "0 9 * * *" and data["timezone"] == "America/New_York"
    assert data["input"] == {"message": "hi"} and data["enabled"] is True and data["primary"] is False
    assert data["last_run_at"] is None
    assert data["next_runs"] == [iso(t) for t in next_runs("0 9 * * *", "America/New_York")]
    assert len(data["next_runs"]) == 5 and all(t.endswith(":00:00Z") for t in data["next_runs"])
    schedule = Schedule.objects.get(pk=data["id"])
    assert schedule.agent_id == agent.pk and schedule.created_by == owner
    entry = AuditLogEntry.objects.get(agent=agent, action="schedule.created")
    assert entry.actor == owner
    assert entry.changes == {"schedule": {"old": None, "new": {
        "id": data["id"], "name": "Morning", "cron": "0 9 * * *", "timezone": "America/New_York",
        "input": {"message": "hi"}, "enabled": True, "primary": False}}}


@pytest.mark.django_db
def test_create_without_name_derives_one_and_defaults_the_rest(api, owner, agent):
    client = api(owner)

    first = client.post(f"/api/v1/agents/{agent.pk}/schedules", {"cron": "*/5 * * * *"}, format="json")
    second = client.post(f"/api/v1/agents/{agent.pk}/schedules/", {"cron": "*/5 * * * *"}, format="json")

    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["data"]["name"] == "cron */5 * * * *"
    assert second.json()["data"]["name"] == "cron */5 * * * * (2)"
    data = first.json()["data"]
    assert data["timezone"] == "UTC" and data["input"] == {} and data["enabled"] is True


@pytest.mark.django_db
def test_duplicate_name_is_409_name_taken(api, owner, agent):
    add_schedule(agent, owner, name="Daily")

    response = api(owner).post(f"/api/v1/agents/{agent.slug}/schedules", {"name": "Daily", "cron": "0 1 * * *"},
                               format="json")

    body = problem(response, 409, "name_taken")
    assert body["errors"] == {"name": ["Already in use."]}
    assert Schedule.objects.filter(agent=agent).count() == 1


@pytest.mark.django_db
def test_list_is_paginated_oldest_first(api, owner, agent):
    for n in range(3):
        add_schedule(agent, owner, name=f"s{n}")

    response = api(owner).get(f"/api/v1/agents/{agent.slug}/schedules?limit=2")

    assert response.status_code == 200
    body = response.json()
    assert [s["name"] for s in body["data"]] == ["s0", "s1"]
    assert body["meta"]["total"] == 3 and body["meta"]["has_more"] is True and body["meta"]["next_cursor"]
    rest = api(owner).get(f"/api/v1/agents/{agent.slug}/schedules?limit=2&cursor={body['meta']['next_cursor']}")
    assert [s["name"] for s in rest.json()["data"]] == ["s2"]


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_schedules(api, owner, agent, make_agent,
                                                       django_assert_max_num_queries):
    client = api(owner)
    add_schedule(agent, owner, name="only")
    other = make_agent(owner, name="Other")
    add_schedule(other, owner, name="elsewhere")
    client.get(f"/api/v1/agents/{agent.slug}/schedules")  # the token's last_used_at is written once
    with django_assert_max_num_queries(4) as few:
        assert len(client.get(f"/api/v1/agents/{agent.slug}/schedules").json()["data"]) == 1
    for n in range(25):
        add_schedule(agent, owner, name=f"s{n}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/api/v1/agents/{agent.slug}/schedules")

    assert len(response.json()["data"]) == 26


@pytest.mark.django_db
def test_retrieve_patch_and_delete_one_schedule(api, owner, agent):
    schedule = add_schedule(agent, owner, name="Daily")
    client = api(owner)
    url = f"/api/v1/agents/{agent.slug}/schedules/{schedule.pk}"

    assert client.get(url).json()["data"]["name"] == "Daily"
    patched = client.patch(url, {"cron": "30 6 * * 1-5", "input": {"message": "weekday"}}, format="json")
    assert patched.status_code == 200, patched.content
    data = patched.json()["data"]
    assert data["cron"] == "30 6 * * 1-5" and data["input"] == {"message": "weekday"} and data["name"] == "Daily"
    schedule.refresh_from_db()
    assert schedule.cron == "30 6 * * 1-5" and schedule.updated_at > schedule.created_at
    assert periodic_task(schedule).crontab.day_of_week == "1-5"
    update = AuditLogEntry.objects.get(agent=agent, action="schedule.updated")
    assert update.changes["schedule.cron"] == {"old": "0 9 * * *", "new": "30 6 * * 1-5"}
    assert update.changes["schedule.input.message"] == {"old": None, "new": "weekday"}

    deleted = client.delete(url)

    assert deleted.status_code == 204 and deleted.content == b""
    assert not Schedule.objects.filter(pk=schedule.pk).exists()
    assert not PeriodicTask.objects.filter(name=f"agentry.schedule.{schedule.pk}").exists()
    entry = AuditLogEntry.objects.get(agent=agent, action="schedule.deleted")
    assert entry.changes["schedule"]["old"]["name"] == "Daily" and entry.changes["schedule"]["new"] is None
    problem(client.get(url), 404, "not_found")


@pytest.mark.django_db
def test_patch_without_changes_writes_no_audit_entry(api, owner, agent):
    schedule = add_schedule(agent, owner, name="Daily")

    response = api(owner).patch(f"/api/v1/agents/{agent.slug}/schedules/{schedule.pk}", {"name": "Daily"},
                                format="json")

    assert response.status_code == 200
    assert not AuditLogEntry.objects.filter(action="schedule.updated").exists()


@pytest.mark.django_db
def test_disabled_schedule_has_no_next_runs(api, owner, agent):
    schedule = add_schedule(agent, owner)

    response = api(owner).patch(f"/api/v1/agents/{agent.slug}/schedules/{schedule.pk}", {"enabled": False},
                                format="json")

    assert response.json()["data"]["enabled"] is False and response.json()["data"]["next_runs"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_schedule_is_404(api, owner, agent, ref):
    client = api(owner)
    for method in ("get", "patch", "delete"):
        body = problem(getattr(client, method)(f"/api/v1/agents/{agent.slug}/schedules/{ref}"), 404, "not_found")
        assert body["detail"] == "Schedule not found."


@pytest.mark.django_db
def test_another_agents_schedule_is_404(api, owner, agent, make_agent):
    other = make_agent(owner, name="Other")
    schedule = add_schedule(other, owner)

    response = api(owner).get(f"/api/v1/agents/{agent.slug}/schedules/{schedule.pk}")

    problem(response, 404, "not_found")


# --- validation ------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    ({"cron": "0 9 * *"}, "cron"),
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "0 0 31 2 *"}, "cron"),
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"cron": "0 9 * * *", "input": ["not", "an", "object"]}, "input"),
    ({"cron": "0 9 * * *", "input": "text"}, "input"),
    ({"cron": "0 9 * * *", "colour": "blue"}, "colour"),
    ({"cron": "0 9 * * *", "primary": True}, "primary"),
    ({}, "cron"),
])
def test_invalid_schedule_is_400_at_the_field(api, owner, agent, body, field):
    response = api(owner).post(f"/api/v1/agents/{agent.slug}/schedules", body, format="json")

    body_ = problem(response, 400, "validation_error")
    assert list(body_["errors"]) == [field]
    assert not Schedule.objects.exists()
    assert not AuditLogEntry.objects.filter(action="schedule.created").exists()


@pytest.mark.django_db
def test_body_that_is_not_an_object_is_400(api, owner, agent):
    response = api(owner).post(f"/api/v1/agents/{agent.slug}/schedules", ["0 9 * * *"], format="json")

    problem(response, 400, "validation_error")


@pytest.mark.django_db
def test_invalid_patch_changes_nothing(api, owner, agent):
    schedule = add_schedule(agent, owner)

    response = api(owner).patch(f"/api/v1/agents/{agent.slug}/schedules/{schedule.pk}",
                                {"cron": "every day", "enabled": False}, format="json")

    assert list(problem(response, 400, "validation_error")["errors"]) == ["cron"]
    schedule.refresh_from_db()
    assert schedule.cron == "0 9 * * *" and schedule.enabled is True


# --- the primary schedule --------------------------------------------------------------------------

@pytest.mark.django_db
def test_primary_schedule_is_created_then_replaced_whole_then_deleted(api, owner, agent):
    client = api(owner)
    url = f"/api/v1/agents/{agent.slug}/schedule"

    created = client.post(url, {"cron": "0 8 * * *", "timezone": "Europe/Paris", "input": {"message": "a"},
                                "enabled": False}, format="json")
    assert created.status_code == 201, created.content
    first = created.json()["data"]
    assert first["primary"] is True and first["timezone"] == "Europe/Paris"

    replaced = client.post(url, {"cron": "15 10 * * *"}, format="json")
    assert replaced.status_code == 200, replaced.content
    second = replaced.json()["data"]
    # The same schedule, with the fields not sent back at their defaults.
    assert second["id"] == first["id"] and second["primary"] is True
    assert (second["cron"], second["timezone"], second["input"], second["enabled"]) == ("15 10 * * *", "UTC", {}, True)
    assert Schedule.objects.filter(agent=agent, primary=True).count() == 1
    listed = client.get(f"/api/v1/agents/{agent.slug}/schedules").json()["data"]
    assert [(s["id"], s["primary"]) for s in listed] == [(first["id"], True)]

    assert client.delete(url).status_code == 204
    assert not Schedule.objects.filter(agent=agent).exists()
    actions = list(AuditLogEntry.objects.filter(agent=agent, action__startswith="schedule.")
                   .order_by("created_at").values_list("action", flat=True))
    assert actions == ["schedule.created", "schedule.updated", "schedule.deleted"]
    problem(client.delete(url), 404, "not_found")


@pytest.mark.django_db
def test_primary_replacement_needs_a_cron_and_a_valid_body(api, owner, agent):
    client = api(owner)
    url = f"/api/v1/agents/{agent.slug}/schedule"
    client.post(url, {"cron": "0 8 * * *"}, format="json")

    assert list(problem(client.post(url, {"input": {}}, format="json"), 400, "validation_error")["errors"]) == [
        "cron"]
    problem(client.post(url, ["0 8 * * *"], format="json"), 400, "validation_error")
    problem(client.post(url, {"cron": "0 8 * * *", "timezone": "Nowhere"}, format="json"), 400, "validation_error")
    assert Schedule.objects.get(agent=agent).cron == "0 8 * * *"


@pytest.mark.django_db
def test_primary_schedule_beside_other_schedules(api, owner, agent):
    add_schedule(agent, owner, name="other")

    response = api(owner).post(f"/api/v1/agents/{agent.slug}/schedule", {"cron": "0 7 * * *"}, format="json")

    assert response.status_code == 201
    assert sorted(Schedule.objects.filter(agent=agent).values_list("primary", flat=True)) == [False, True]


# --- roles and scopes --------------------------------------------------------------------------------

class TestRoles(RoleMatrix):
    endpoints = [
        Endpoint("list", "get", "schedules", None, "viewer", "agents:read", 200),
        Endpoint("retrieve", "get", "schedules/{target}", None, "viewer", "agents:read", 200),
        Endpoint("create", "post", "schedules", {"cron": "0 1 * * *", "name": "new"}, "admin", "agents:write", 201),
        Endpoint("patch", "patch", "schedules/{target}", {"cron": "0 2 * * *"}, "admin", "agents:write", 200),
        Endpoint("delete", "delete", "schedules/{target}", None, "admin", "agents:write", 204),
        Endpoint("primary-set", "post", "schedule", {"cron": "0 3 * * *"}, "admin", "agents:write", 200),
        Endpoint("primary-delete", "delete", "schedule", None, "admin", "agents:write", 204),
    ]

    def existing(self, agent, owner):
        schedule = add_schedule(agent, owner, name="existing")
        add_schedule(agent, owner, name="main")
        Schedule.objects.filter(name="main").update(primary=True)
        return schedule

    def state(self, agent):
        return sorted(Schedule.objects.filter(agent=agent).values_list("name", "cron", "primary"))


@pytest.mark.django_db
def test_anonymous_gets_401(api, agent):
    problem(api().get(f"/api/v1/agents/{agent.slug}/schedules"), 401, "not_authenticated")


# --- next runs --------------------------------------------------------------------------------------

def test_next_runs_read_the_cron_in_its_time_zone():
    winter = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)

    assert [iso(t) for t in next_runs("0 9 * * *", "America/New_York", after=winter)] == [
        "2026-01-10T14:00:00Z", "2026-01-11T14:00:00Z", "2026-01-12T14:00:00Z", "2026-01-13T14:00:00Z",
        "2026-01-14T14:00:00Z"]
    assert iso(next_runs("0 9 * * *", "America/New_York", after=summer)[0]) == "2026-07-10T13:00:00Z"
    assert iso(next_runs("0 9 * * *", "UTC", after=winter)[0]) == "2026-01-11T09:00:00Z"


def test_next_runs_are_strictly_after_the_moment_and_in_order():
    moment = datetime(2026, 3, 6, 15, 0, 25, tzinfo=UTC)

    runs = next_runs("* * * * *", "UTC", after=moment, count=3)

    assert [iso(t) for t in runs] == ["2026-03-06T15:01:00Z", "2026-03-06T15:02:00Z", "2026-03-06T15:03:00Z"]
    assert iso(next_runs("0 15 * * *", "UTC", after=datetime(2026, 3, 6, 15, 0, tzinfo=UTC))[0]) == \
        "2026-03-07T15:00:00Z"


def test_next_runs_across_daylight_saving_changes():
    # New York springs forward on 2026-03-08: 09:00 moves from 14:00Z to 13:00Z;
    # 02:30 does not exist that night and runs at the shifted instant (03:30 EDT).
    before = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert [iso(t) for t in next_runs("0 9 * * *", "America/New_York", after=before, count=3)] == [
        "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"]
    assert [iso(t) for t in next_runs("30 2 * * *", "America/New_York", after=before, count=3)] == [
        "2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"]
    # Berlin falls back on 2026-10-25 at 01:00Z: 02:00-02:59 happens twice.
    night = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)
    assert [iso(t)[11:16] for t in next_runs("*/15 * * * *", "Europe/Berlin", after=night, count=6)] == [
        "00:45", "01:00", "01:15", "01:30", "01:45", "02:00"]
    assert [iso(t) for t in next_runs("30 2 * * *", "Europe/Berlin", after=night - timedelta(days=1), count=2)] == [
        "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]


def test_next_runs_of_rare_crons_match_day_of_month_and_weekday_both():
    moment = datetime(2026, 1, 1, tzinfo=UTC)

    assert [iso(t) for t in next_runs("0 0 29 2 *", "UTC", after=moment, count=2)] == [
        "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
    # Celery reads day-of-month and day-of-week together: Feb 29 on a Monday.
    assert [iso(t) for t in next_runs("0 0 29 2 1", "UTC", after=moment, count=1)] == ["2044-02-29T00:00:00Z"]
    assert [iso(t) for t in next_runs("0 12 13 * fri", "UTC", after=moment, count=2)] == [
        "2026-02-13T12:00:00Z", "2026-03-13T12:00:00Z"]


# --- periodic tasks ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_periodic_task_is_enabled_only_while_the_agent_is_active_and_running(owner, agent):
    actor = Actor(user=owner)
    schedule = add_schedule(agent, owner, timezone="Europe/Paris", input={"message": "x"})
    task = periodic_task(schedule)
    assert task.task == "agents.fire_schedule" and task.args == f'["{schedule.pk}"]'
    assert task.crontab.hour == "9" and str(task.crontab.timezone) == "Europe/Paris"
    assert task.enabled is False  # the agent is stopped

    agent = agent_start(agent=agent, actor=actor)
    assert periodic_task(schedule).enabled is True

    agent = agent_set_status(agent=agent, actor=actor, status="paused")
    assert periodic_task(schedule).enabled is False
    agent = agent_set_status(agent=agent, actor=actor, status="active")
    assert periodic_task(schedule).enabled is True

    agent_stop(agent=agent, actor=actor)
    assert periodic_task(schedule).enabled is False


@pytest.mark.django_db
def test_disabling_a_schedule_disables_its_task_and_a_new_cron_counts_from_now(api, owner, agent):
    agent_start(agent=agent, actor=Actor(user=owner))
    schedule = add_schedule(agent, owner)
    PeriodicTask.objects.filter(pk=periodic_task(schedule).pk).update(last_run_at=timezone.now())
    url = f"/api/v1/agents/{agent.slug}/schedules/{schedule.pk}"
    client = api(owner)

    client.patch(url, {"cron": "0 10 * * *"}, format="json")
    task = periodic_task(schedule)
    assert task.enabled is True and task.crontab.hour == "10"
    assert task.last_run_at is None  # beat counts the new cron from the change, no catch-up run

    client.patch(url, {"enabled": False}, format="json")
    assert periodic_task(schedule).enabled is False
    client.patch(url, {"enabled": True}, format="json")
    assert periodic_task(schedule).enabled is True


@pytest.mark.django_db
def test_deleting_the_agent_removes_its_periodic_tasks(owner, make_agent):
    agent = make_agent(owner, name="Beat", pipeline=THREE_NODES,
                       config={"heartbeat": {"enabled": True, "cron": "*/10 * * * *", "prompt": "tick"}})
    agent = agent_start(agent=agent, actor=Actor(user=owner))
    schedules = [add_schedule(agent, owner, name=f"s{n}") for n in range(2)]
    names = [f"agentry.schedule.{s.pk}" for s in schedules] + [f"agentry.heartbeat.{agent.pk}"]
    assert PeriodicTask.objects.filter(name__in=names).count() == 3

    agent_delete(agent=agent, actor=Actor(user=owner))

    assert not PeriodicTask.objects.filter(name__in=names).exists()
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_sync_recreates_a_task_that_went_missing(owner, agent):
    agent = agent_start(agent=agent, actor=Actor(user=owner))
    schedule = add_schedule(agent, owner)
    PeriodicTask.objects.filter(name=f"agentry.schedule.{schedule.pk}").delete()

    periodic_tasks_sync(agent)

    schedule.refresh_from_db()
    assert schedule.periodic_task == periodic_task(schedule) and periodic_task(schedule).enabled


@pytest.mark.django_db
def test_heartbeat_task_follows_the_deployed_version(owner, make_agent, api):
    agent = make_agent(owner, name="Pulse", pipeline=THREE_NODES,
                       config={"heartbeat": {"enabled": True, "cron": "0 * * * *", "timezone": "Asia/Tokyo",
                                             "prompt": "status?"}})
    name = f"agentry.heartbeat.{agent.pk}"
    assert not PeriodicTask.objects.filter(name=name).exists()  # nothing deployed yet

    agent = agent_start(agent=agent, actor=Actor(user=owner))
    task = PeriodicTask.objects.get(name=name)
    assert task.task == "agents.fire_heartbeat" and task.args == f'["{agent.pk}"]' and task.enabled
    assert task.crontab.minute == "0" and str(task.crontab.timezone) == "Asia/Tokyo"

    agent = agent_stop(agent=agent, actor=Actor(user=owner))
    assert PeriodicTask.objects.get(name=name).enabled is False

    # A draft without the heartbeat changes nothing until it is deployed.
    api(owner).patch(f"/api/v1/agents/{agent.slug}", {"config": {"heartbeat": {"enabled": False}}}, format="json")
    assert PeriodicTask.objects.filter(name=name).exists()
    agent_start(agent=agent, actor=Actor(user=owner))
    assert not PeriodicTask.objects.filter(name=name).exists()
