"""Creating an agent in the console: blank, from a template, with the
wizard's fields.  Each form goes through the API's service (the agent, its
owner membership and the audit entry are what the API writes) and its
errors come back beside the field they name."""

import pytest

from accounts.roles import Role
from agents.models import Agent, AgentMember, AuditAction, AuditLogEntry, Memory, MemoryKind, Schedule
from tests.agents.web.html_forms import field_errors

pytestmark = pytest.mark.django_db
URL = "/agents/new/"


def test_anonymous_is_sent_to_log_in(client):
    assert client.get(URL)["Location"] == "/login/?next=/agents/new/"
    response = client.post(URL, {"way": "blank", "blank-name": "X"})
    assert response.status_code == 302 and not Agent.objects.exists()


def test_page_offers_the_three_ways_and_every_template(logged_in):
    response = logged_in.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    for heading in ("From a template", "Blank", "With the wizard"):
        assert f">{heading}</h2>" in body
    for template in ("web-research", "support-triage", "summarizer"):
        assert f'value="{template}"' in body


def test_blank_creates_the_agent_through_the_service_and_audits_it(logged_in, owner):
    # when
    response = logged_in.post(URL, {"way": "blank", "blank-name": "Helpdesk", "blank-slug": "",
                                    "blank-description": "Answers tickets", "blank-tags": "support, beta"},
                              REMOTE_ADDR="10.1.2.3")
    # then
    agent = Agent.objects.get(name="Helpdesk")
    assert response.status_code == 302 and response["Location"] == f"/agents/{agent.slug}/"
    assert agent.slug == "helpdesk" and agent.description == "Answers tickets" and agent.owner == owner
    assert [t.name for t in agent.tag_rows.all()] == ["support", "beta"]
    assert AgentMember.objects.get(agent=agent).role == Role.OWNER
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk)
    assert entry.action == AuditAction.AGENT_CREATED and entry.actor == owner and entry.ip == "10.1.2.3"


def test_a_name_already_used_is_an_error_beside_the_name(logged_in, owner, make_agent):
    make_agent(owner, "Helpdesk")
    response = logged_in.post(URL, {"way": "blank", "blank-name": "Helpdesk", "blank-tags": ""})
    assert response.status_code == 400
    assert field_errors(response, "blank-name") == ["Already in use."]
    assert Agent.objects.filter(name="Helpdesk").count() == 1


def test_a_bad_slug_is_the_services_message_beside_the_slug(logged_in):
    response = logged_in.post(URL, {"way": "blank", "blank-name": "Ok", "blank-slug": "not--valid"})
    assert response.status_code == 400
    assert field_errors(response, "blank-slug") == ["Use letters, digits and single hyphens, not at the start or end."]
    assert not Agent.objects.exists()


def test_from_a_template_copies_its_pipeline_and_audits_it(logged_in, owner):
    response = logged_in.post(URL, {"way": "template", "template-template": "support-triage", "template-name": ""})
    agent = Agent.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == f"/agents/{agent.slug}/"
    assert agent.name == "Support Triage"
    assert {n["id"] for n in agent.pipeline["nodes"]} >= {"input", "classify", "is_urgent", "escalated"}
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action=AuditAction.AGENT_CREATED).exists()
    # the same template again: the name is numbered, as the API does
    logged_in.post(URL, {"way": "template", "template-template": "support-triage", "template-name": "Triage two"})
    assert set(Agent.objects.values_list("name", flat=True)) == {"Support Triage", "Triage two"}


def test_an_unknown_template_is_refused_beside_the_choice(logged_in):
    response = logged_in.post(URL, {"way": "template", "template-template": "nope"})
    assert response.status_code == 400
    assert field_errors(response, "template-template") == [
        "Select a valid choice. nope is not one of the available choices."]
    assert not Agent.objects.exists()


def test_wizard_creates_the_agent_and_seeds_memory_rules_and_tasks(logged_in, owner):
    response = logged_in.post(URL, {
        "way": "wizard", "wizard-name": "Digest", "wizard-description": "", "wizard-tags": "daily",
        "wizard-personality": "Brief and warm.", "wizard-model": "echo/echo",
        "wizard-connectors": ["http_request", "remember"],
        "wizard-memories": "The team is in Lyon\nStandup at 9",
        "wizard-rules": "Never share emails",
        "wizard-tasks": "0 9 * * 1-5 Summarise yesterday", "wizard-task_timezone": "Europe/Paris",
    })
    agent = Agent.objects.get(name="Digest")
    assert response.status_code == 302 and response["Location"] == f"/agents/{agent.slug}/"
    assert agent.config["personality"] == "Brief and warm."
    assert [t["type"] for t in agent.config["tools"]] == ["http_request", "remember"]
    assert sorted(Memory.objects.filter(agent=agent).values_list("content", flat=True)) == [
        "Never share emails", "Standup at 9", "The team is in Lyon"]
    assert Memory.objects.get(agent=agent, kind=MemoryKind.RULE).content == "Never share emails"
    schedule = Schedule.objects.get(agent=agent)
    assert (schedule.cron, schedule.timezone) == ("0 9 * * 1-5", "Europe/Paris")
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action=AuditAction.AGENT_CREATED).exists()


def test_wizard_errors_name_the_line_they_come_from_and_nothing_is_created(logged_in):
    response = logged_in.post(URL, {
        "way": "wizard", "wizard-name": "Digest", "wizard-model": "nowhere/x",
        "wizard-tasks": "0 9 * * 1-5 Fine\n99 9 * * * Bad minute", "wizard-task_timezone": "UTC",
    })
    assert response.status_code == 400
    assert len(field_errors(response, "wizard-tasks")) == 1
    assert field_errors(response, "wizard-tasks")[0].startswith("Line 2: ")
    assert field_errors(response, "wizard-model")[0].startswith("Unknown provider &#x27;nowhere&#x27;")
    assert not Agent.objects.exists()


def test_wizard_task_line_without_a_prompt_is_refused_by_the_form(logged_in):
    response = logged_in.post(URL, {"way": "wizard", "wizard-name": "Digest", "wizard-tasks": "0 9 * * *",
                                    "wizard-task_timezone": "UTC"})
    assert response.status_code == 400
    assert field_errors(response, "wizard-tasks") == ["Line 1: write the five cron fields, then the prompt."]


def test_an_unknown_way_is_a_clear_error(logged_in):
    response = logged_in.post(URL, {"way": "magic"})
    assert response.status_code == 400
    assert "Choose how to create the agent" in response.content.decode()
