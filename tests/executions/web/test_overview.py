"""An agent's overview tab: who may see it, what it shows for each role
(runtime controls for admins, the run panel for operators), its last
executions and usage, in a constant number of queries."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actor import Actor
from agents.services import runtime
from tests.executions.web.runs_factories import make_execution

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Busy Bot", slug="busy-bot", description="Answers questions.")


def as_member(client, make_user, add_member, agent, role):
    user = make_user(f"{role}-user")
    add_member(agent, user, role)
    client.force_login(user)
    return user


def test_anonymous_is_sent_to_log_in(client, agent):
    response = client.get("/agents/busy-bot/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/agents/busy-bot/"


def test_non_member_gets_404(client, agent, make_user):
    client.force_login(make_user("stranger"))

    response = client.get("/agents/busy-bot/")

    assert response.status_code == 404
    assert "Agent not found." in response.content.decode()


def test_owner_sees_runtime_controls_run_panel_stats_and_usage(client, owner, agent):
    # given
    make_execution(agent, duration=50)
    client.force_login(owner)

    # when
    response = client.get("/agents/busy-bot/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="tab-heading">Overview</h2>' in html and "Answers questions." in html
    assert '<input type="hidden" name="action" value="start"><button type="submit">Start</button>' in html
    assert 'name="action" value="stop"' not in html  # stopped: only start
    assert '<section id="run-panel"' in html and 'name="run-prompt"' in html
    assert re.search(r"<dt>Executions</dt><dd>1</dd>", html)
    assert "<dt>Deployed version</dt><dd>None yet</dd>" in html
    assert '<h3 id="usage-heading">Usage, last 30 days</h3>' in html
    assert html.count('<svg class="chart-plot"') == 5


def test_running_agent_offers_stop_and_redeploy_and_says_when_redeploy_is_required(client, owner, agent):
    # given: running version 1, then the model changes in the working config
    runtime.agent_start(agent=agent, actor=Actor(user=owner))
    agent.refresh_from_db()
    agent.config = {**agent.config, "model": {"provider": "echo", "name": "other-model"}}
    agent.save(update_fields=["config"])
    client.force_login(owner)

    # when
    html = client.get("/agents/busy-bot/").content.decode()

    # then
    assert "<dt>Deployed version</dt><dd>v1</dd>" in html
    assert 'value="redeploy"><button type="submit">Redeploy</button>' in html
    assert 'data-confirm="Stop Busy Bot? Its schedules and heartbeat pause."' in html
    assert 'value="start"' not in html
    assert "Redeploy required" in html


def test_viewer_reads_but_gets_no_runtime_controls_and_no_run_panel(client, agent, make_user, add_member):
    as_member(client, make_user, add_member, agent, "viewer")

    response = client.get("/agents/busy-bot/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="action"' not in html
    assert 'id="run-panel"' not in html
    assert "Your role: <strong>Viewer</strong>" in html


def test_operator_gets_the_run_panel_but_no_runtime_controls(client, agent, make_user, add_member):
    as_member(client, make_user, add_member, agent, "operator")

    html = client.get("/agents/busy-bot/").content.decode()

    assert 'id="run-panel"' in html
    assert 'name="action"' not in html


def test_last_ten_executions_link_to_their_pages(client, owner, agent):
    # given
    now = timezone.now()
    executions = [make_execution(agent, at=now - timedelta(minutes=i), duration=i) for i in range(12)]
    client.force_login(owner)

    # when
    html = client.get("/agents/busy-bot/").content.decode()

    # then
    for execution in executions[:10]:
        assert f'href="/executions/{execution.pk}/"' in html
    for execution in executions[10:]:
        assert f'href="/executions/{execution.pk}/"' not in html
    assert 'href="/agents/busy-bot/executions/"' in html


def test_usage_period_switch_returns_the_agents_usage_only(client, owner, agent, make_agent):
    make_execution(agent, duration=10)
    make_execution(make_agent(owner, name="Other"), duration=10)
    client.force_login(owner)

    response = client.get("/agents/busy-bot/", {"days": "90"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="usage")

    html = response.content.decode()
    assert response.status_code == 200 and "Usage, last 90 days" in html
    assert "Runs per day over the last 90 days: 1 in total" in html
    assert "tab-heading" not in html


def test_overview_query_count_does_not_grow_with_executions(client, owner, agent, django_assert_num_queries):
    # given
    make_execution(agent, duration=10)
    client.force_login(owner)
    client.get("/agents/busy-bot/")
    with django_assert_num_queries(6) as few:
        assert client.get("/agents/busy-bot/").status_code == 200
    for i in range(40):
        make_execution(agent, at=timezone.now() - timedelta(days=i % 30, minutes=i), duration=i,
                       status="failed" if i % 4 == 0 else "succeeded")

    # then
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get("/agents/busy-bot/").status_code == 200


# --- the last executions, asked for again when the run panel's run ends ------------------------------------

def recent(client, **headers):
    return client.get("/agents/busy-bot/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="recent-executions", **headers)


def test_the_last_executions_section_refreshes_when_a_run_finishes(client, owner, agent):
    client.force_login(owner)
    html = client.get("/agents/busy-bot/").content.decode()
    section = re.search(r'<section id="recent-executions"[^>]*>', html).group(0)
    assert 'hx-get="/agents/busy-bot/"' in section
    assert 'hx-trigger="run-finished from:body"' in section and 'hx-swap="outerHTML"' in section


def test_htmx_gets_only_the_last_executions_back(client, owner, agent, make_agent):
    # given
    mine = make_execution(agent, duration=10)
    theirs = make_execution(make_agent(owner, name="Other"), duration=10)
    client.force_login(owner)

    # when
    response = recent(client)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section id="recent-executions"')
    assert f'href="/executions/{mine.pk}/"' in html and f'href="/executions/{theirs.pk}/"' not in html
    assert 'hx-trigger="run-finished from:body"' in html  # the swapped-in section listens again
    assert "tab-heading" not in html and "Usage, last" not in html and 'id="run-panel"' not in html


def test_the_last_executions_fragment_is_for_members_only(client, agent, make_user, add_member):
    client.force_login(make_user("stranger"))
    assert recent(client).status_code == 404
    as_member(client, make_user, add_member, agent, "viewer")
    assert recent(client).status_code == 200


def test_the_last_executions_fragment_query_count_does_not_grow(client, owner, agent, django_assert_num_queries):
    # given
    make_execution(agent, duration=10)
    client.force_login(owner)
    recent(client)
    with django_assert_num_queries(4) as few:  # session, user, agent with role and tags, last executions
        assert recent(client).status_code == 200
    for i in range(15):
        make_execution(agent, at=timezone.now() - timedelta(minutes=i), duration=i)

    # then
    with django_assert_num_queries(len(few.captured_queries)):
        response = recent(client)
    assert response.content.decode().count('<th scope="row">') == 10
