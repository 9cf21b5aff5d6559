"""The schedules tab: list, create with the next-runs preview, pause/resume, delete (console, test client)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from django import forms
from django_celery_beat.models import PeriodicTask

from accounts.actor import Actor
from agents.cron import next_runs
from agents.models import AuditLogEntry, Schedule
from agents.services.schedules import schedule_create
from agents.web.schedules import ScheduleForm, timezone_choices
from tests.agents.web.lifecycle import assert_page_access, client_for, field_errors, flashes, soup

pytestmark = pytest.mark.django_db


def url(agent, suffix=""):
    return f"/agents/{agent.slug}/schedules/{suffix}"


def add(agent, owner, **data):
    return schedule_create(agent=agent, actor=Actor(user=owner), data={"cron": "0 9 * * *", **data})


def test_schedules_page_opens_for_members_only(agent, owner, make_user, add_member):
    viewer, stranger = make_user("viewer"), make_user("stranger")
    add_member(agent, viewer, "viewer")
    assert_page_access(url(agent), allowed=[owner, viewer], refused_404=[stranger])
    assert_page_access(url(agent, "preview/?cron=0+9+*+*+*"), allowed=[viewer], refused_404=[stranger])


def test_create_goes_through_the_service_with_the_forms_values_and_is_audited(agent, owner):
    response = client_for(owner).post(url(agent), {
        "name": "morning", "cron": "30 7 * * 1-5", "timezone": "Europe/Paris",
        "input": '{"message": "daily report"}', "enabled": "on"})
    assert response.status_code == 302
    schedule = Schedule.objects.get(agent=agent)
    assert (schedule.name, schedule.cron, schedule.timezone, schedule.input, schedule.enabled) == (
        "morning", "30 7 * * 1-5", "Europe/Paris", {"message": "daily report"}, True)
    assert schedule.created_by == owner
    assert PeriodicTask.objects.filter(name=f"agentry.schedule.{schedule.pk}").exists()
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="schedule.created")
    assert entry.changes["schedule"]["new"]["cron"] == "30 7 * * 1-5"
    assert entry.changes["schedule"]["new"]["timezone"] == "Europe/Paris"
    assert entry.actor == owner
    row = soup(client_for(owner).get(url(agent))).select_one("main table tbody tr")
    assert [td.get_text(" ", strip=True) for td in row.find_all("td")][:4] == [
        "30 7 * * 1-5", "Europe/Paris", '{"message": "daily report"}', "enabled"]


def test_a_blank_name_is_derived_from_the_cron(agent, owner):
    client_for(owner).post(url(agent), {"cron": "0 9 * * *", "timezone": "UTC", "input": ""})
    schedule = Schedule.objects.get(agent=agent)
    assert (schedule.name, schedule.input, schedule.enabled) == ("cron 0 9 * * *", {}, False)


def test_a_bad_cron_is_the_services_error_beside_the_field(agent, owner):
    response = client_for(owner).post(url(agent), {"cron": "61 * * * *", "timezone": "UTC", "input": "{}"})
    assert response.status_code == 200
    assert field_errors(response, "cron")[0].startswith("Not a valid cron expression")
    assert not Schedule.objects.exists()
    # The preview under the form says the same about what was typed.
    assert soup(response).find(id="preview-error").get_text().startswith("Not a valid cron expression")


@pytest.mark.parametrize("data, field, message", [
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus", "input": "{}"}, "timezone",
     "Unknown IANA time zone 'Mars/Olympus'."),
    ({"cron": "0 9 * * *", "timezone": "UTC", "input": "[1, 2]"}, "input",
     'Expected a dictionary of items but got type "list".'),
    ({"cron": "0 9 * * *", "timezone": "UTC", "input": "{nope"}, "input", None),
])
def test_invalid_fields_are_shown_beside_them(agent, owner, data, field, message):
    response = client_for(owner).post(url(agent), data)
    assert response.status_code == 200
    errors = field_errors(response, field)
    if message is None:
        assert errors[0].startswith("Not valid JSON")
    else:
        assert errors == [message]
    assert not Schedule.objects.exists()


def test_a_taken_name_is_a_conflict_shown_beside_the_name(agent, owner):
    add(agent, owner, name="daily")
    response = client_for(owner).post(url(agent), {"name": "daily", "cron": "0 10 * * *", "timezone": "UTC"})
    assert response.status_code == 200
    assert field_errors(response, "name") == ["Already in use."]
    assert Schedule.objects.filter(agent=agent).count() == 1


def test_preview_lists_the_next_five_runs_in_the_zone_and_utc(agent, owner):
    response = client_for(owner).get(url(agent, "preview/"), {"cron": "0 9 * * *", "timezone": "Asia/Tokyo"})
    assert response.status_code == 200
    times = soup(response).select("ol.preview-times time")
    expected = next_runs("0 9 * * *", "Asia/Tokyo")
    assert len(times) == 5
    assert [t["datetime"] for t in times] == [moment.isoformat() for moment in expected]
    # 09:00 in Tokyo is midnight UTC.
    assert all(" 09:00" in t.get_text() for t in times)
    first = datetime.fromisoformat(times[0]["datetime"]).astimezone(ZoneInfo("UTC"))
    assert (first.hour, first.minute) == (0, 0)
    assert "<html" not in response.content.decode()  # a fragment for htmx to swap in


def test_preview_reports_what_the_service_would_refuse(agent, owner):
    response = client_for(owner).get(url(agent, "preview/"), {"cron": "0 9 * *", "timezone": "UTC"})
    assert soup(response).find(id="preview-error").get_text() == (
        "Must have five fields: minute hour day-of-month month day-of-week.")


def test_pause_then_resume_goes_through_the_service(agent, owner):
    schedule = add(agent, owner, name="daily")
    client = client_for(owner)
    response = client.post(url(agent, f"{schedule.pk}/toggle/"), follow=True)
    assert flashes(response) == ["Paused schedule 'daily'."]
    schedule.refresh_from_db()
    assert schedule.enabled is False
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="schedule.updated")
    assert entry.changes["schedule.enabled"] == {"old": True, "new": False}
    client.post(url(agent, f"{schedule.pk}/toggle/"))
    schedule.refresh_from_db()
    assert schedule.enabled is True


def test_delete_removes_the_schedule_and_its_task(agent, owner):
    schedule = add(agent, owner, name="daily")
    response = client_for(owner).post(url(agent, f"{schedule.pk}/delete/"), follow=True)
    assert flashes(response) == ["Deleted schedule 'daily'."]
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.filter(name=f"agentry.schedule.{schedule.pk}").exists()
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="schedule.deleted").count() == 1


def test_another_agents_schedule_is_404(agent, owner, make_agent):
    other = add(make_agent(owner, "Other"), owner)
    assert client_for(owner).post(url(agent, f"{other.pk}/delete/")).status_code == 404
    assert client_for(owner).post(url(agent, "not-a-uuid/toggle/")).status_code == 404
    assert Schedule.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_sees_no_controls_and_cannot_post(agent, owner, make_user, add_member, role):
    member = make_user(role)
    add_member(agent, member, role)
    schedule = add(agent, owner, name="daily")
    client = client_for(member)
    assert client.post(url(agent), {"cron": "0 10 * * *", "timezone": "UTC"}).status_code == 403
    assert client.post(url(agent, f"{schedule.pk}/toggle/")).status_code == 403
    assert client.post(url(agent, f"{schedule.pk}/delete/")).status_code == 403
    schedule.refresh_from_db()
    assert schedule.enabled and Schedule.objects.count() == 1
    page = soup(client.get(url(agent)))
    assert page.find(id="schedule-form") is None
    assert not page.select("main table button")  # no pause, resume or delete


def test_list_costs_the_same_queries_for_one_or_many_schedules(agent, owner, django_assert_num_queries):
    client = client_for(owner)
    add(agent, owner, name="s0")
    client.get(url(agent))
    with django_assert_num_queries(5):
        client.get(url(agent))
    for n in range(1, 6):
        add(agent, owner, name=f"s{n}", enabled=n % 2 == 0)
    with django_assert_num_queries(5):
        page = client.get(url(agent))
    assert len(soup(page).select("tbody tr")) == 6


@pytest.mark.parametrize("posted", [None, "Europe/Paris", "Mars/Olympus", 'a"<b>&'])
def test_the_time_zone_select_is_what_djangos_select_writes(posted):
    """Its options are written once per selected zone, not through Django's
    option template (15 ms a render); the HTML is the same, attributes,
    escaping and the selected zone included."""
    data = None if posted is None else {"cron": "0 9 * * *", "timezone": posted}

    class WithDjangosSelect(ScheduleForm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["timezone"].widget = forms.Select(choices=timezone_choices())

    ours, djangos = ScheduleForm(data=data), WithDjangosSelect(data=data)
    if data is not None:  # a bound form shows what was posted
        ours.is_valid()
        djangos.is_valid()

    def html(form):
        return re.sub(r">\s+<", "><", str(form["timezone"]).strip())

    assert html(ours) == html(djangos)
    select = BeautifulSoup(str(ours["timezone"]), "html.parser").select_one("select#id_timezone")
    assert select["name"] == "timezone" and select["aria-describedby"] == "id_timezone_helptext"
    assert len(select.select("option")) == len(timezone_choices()) > 400
    chosen = [option["value"] for option in select.select("option[selected]")]
    known = {value for value, _label in timezone_choices()}
    assert chosen == ([posted or "UTC"] if (posted or "UTC") in known else [])
