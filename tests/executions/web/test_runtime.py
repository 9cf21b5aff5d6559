"""Start, stop and redeploy from the overview: the same services as the API
(the agent's state, its deployed version and the audit log change alike),
admin role required, errors as flash messages."""

import pytest

from accounts.actor import Actor
from agents.models import Agent, AuditLogEntry
from agents.services import runtime

pytestmark = pytest.mark.django_db
URL = "/agents/busy-bot/runtime/"


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def audit_actions(agent) -> list[str]:
    return list(AuditLogEntry.objects.filter(agent_ref=agent.pk).order_by("created_at", "id")
                .values_list("action", flat=True))


def test_admin_starts_the_agent_like_the_api_does(client, agent, make_user, add_member):
    # given
    admin = make_user("admin")
    add_member(agent, admin, "admin")
    client.force_login(admin)

    # when
    response = client.post(URL, {"action": "start"}, follow=True, REMOTE_ADDR="10.1.2.3")

    # then
    assert response.redirect_chain == [("/agents/busy-bot/", 302)]
    assert flashes(response) == ["Started: serving version 1."]
    agent.refresh_from_db()
    assert (agent.runtime_state, agent.deployed_version) == ("running", 1)
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="runtime.started")
    assert entry.actor == admin and entry.ip == "10.1.2.3" and entry.token is None
    assert entry.changes["runtime.state"] == {"old": "stopped", "new": "running"}


def test_owner_redeploys_then_stops(client, owner, agent):
    runtime.agent_start(agent=agent, actor=Actor(user=owner))
    agent.refresh_from_db()
    agent.config = {**agent.config, "instructions": "Be brief."}
    agent.save(update_fields=["config"])
    client.force_login(owner)

    redeployed = client.post(URL, {"action": "redeploy"}, follow=True)
    assert flashes(redeployed) == ["Redeployed: serving version 2."]
    assert Agent.objects.get(pk=agent.pk).deployed_version == 2

    stopped = client.post(URL, {"action": "stop"}, follow=True)
    assert flashes(stopped) == ["Stopped: schedules and the heartbeat are paused."]
    assert Agent.objects.get(pk=agent.pk).runtime_state == "stopped"
    assert audit_actions(agent)[-3:] == ["runtime.started", "runtime.redeployed", "runtime.stopped"]


def test_redeploying_a_stopped_agent_says_nothing_was_done(client, owner, agent):
    client.force_login(owner)

    response = client.post(URL, {"action": "redeploy"}, follow=True)

    assert flashes(response) == ["The agent is stopped: the next start deploys the working configuration."]
    assert "runtime.redeployed" not in audit_actions(agent)


def test_a_paused_agent_cannot_start_and_the_reason_is_flashed(client, owner, agent):
    Agent.objects.filter(pk=agent.pk).update(status="paused")
    client.force_login(owner)

    response = client.post(URL, {"action": "start"}, follow=True)

    assert flashes(response) == ["Agent 'busy-bot' is paused; activate it before starting it."]
    assert Agent.objects.get(pk=agent.pk).runtime_state == "stopped"
    assert "runtime.started" not in audit_actions(agent)


def test_unknown_action_is_a_flashed_error(client, owner, agent):
    client.force_login(owner)

    response = client.post(URL, {"action": "explode"}, follow=True)

    assert flashes(response) == ["Unknown runtime action: choose start, stop or redeploy."]
    assert Agent.objects.get(pk=agent.pk).runtime_state == "stopped"


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_below_admin_is_refused_and_nothing_changes(client, agent, make_user, add_member, role):
    user = make_user(role)
    add_member(agent, user, role)
    client.force_login(user)
    before = audit_actions(agent)

    response = client.post(URL, {"action": "start"})

    assert response.status_code == 403
    assert "needs the admin role" in response.content.decode()
    assert Agent.objects.get(pk=agent.pk).runtime_state == "stopped"
    assert audit_actions(agent) == before


def test_non_member_gets_404_and_anonymous_is_sent_to_log_in(client, agent, make_user):
    assert client.post(URL, {"action": "start"})["Location"] == f"/login/?next={URL}"
    client.force_login(make_user("stranger"))
    assert client.post(URL, {"action": "start"}).status_code == 404
    assert Agent.objects.get(pk=agent.pk).runtime_state == "stopped"


def test_get_is_not_allowed(client, owner, agent):
    client.force_login(owner)
    assert client.get(URL).status_code == 405
