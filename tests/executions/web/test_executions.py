"""Executions in the console: the lists (across agents and per agent) with
the API's filters and cursor pages in a constant number of queries, an
execution's page with its waterfall (live while running), and cancelling."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.web.waterfall import execution_waterfall
from tests.executions.web.runs_factories import make_execution, make_step

pytestmark = pytest.mark.django_db


def member(make_user, add_member, agent, role):
    user = make_user(f"{role}-user")
    add_member(agent, user, role)
    return user


def links(html: str, executions) -> list[bool]:
    return [f'href="/executions/{e.pk}/"' in html for e in executions]


# --- lists -----------------------------------------------------------------------------------------

def test_all_executions_lists_only_visible_agents_newest_first(client, owner, agent, make_user, make_agent):
    # given
    now = timezone.now()
    older = make_execution(agent, at=now - timedelta(hours=1))
    newer = make_execution(agent, at=now)
    hidden = make_execution(make_agent(make_user("other"), name="Hidden"), at=now)
    client.force_login(owner)

    # when
    response = client.get("/executions/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert links(html, [older, newer, hidden]) == [True, True, False]
    assert html.index(str(newer.pk)) < html.index(str(older.pk))
    assert '<a href="/agents/busy-bot/">Busy Bot</a>' in html
    assert "2 of 2 executions" in html


@pytest.mark.parametrize("query, expected", [
    ({"status": "failed"}, [False, True, False]),
    ({"trigger": "schedule"}, [False, False, True]),
    ({"since": "2026-03-09"}, [True, True, False]),
    ({"until": "2026-03-09"}, [False, False, True]),
    ({"since": "2026-03-09", "status": "succeeded"}, [True, False, False]),
])
def test_filters_are_the_apis(client, owner, agent, query, expected):
    rows = [make_execution(agent, at=datetime(2026, 3, 10, 9, tzinfo=UTC)),
            make_execution(agent, at=datetime(2026, 3, 9, 9, tzinfo=UTC), status="failed"),
            make_execution(agent, at=datetime(2026, 3, 8, 9, tzinfo=UTC), trigger="schedule")]
    client.force_login(owner)

    for url in ("/executions/", "/agents/busy-bot/executions/"):
        html = client.get(url, query).content.decode()
        assert links(html, rows) == expected, url


def test_an_invalid_filter_is_shown_beside_its_field(client, owner, agent):
    make_execution(agent)
    client.force_login(owner)

    response = client.get("/executions/", {"status": "exploded", "since": "yesterday"})

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="field field--invalid" data-field="status">' in html
    assert "Select a valid choice. exploded is not one of the available choices." in html
    assert '<div class="field field--invalid" data-field="since">' in html
    assert "No executions match these filters." in html


def test_cursor_pages_walk_the_whole_list_keeping_filters(client, owner, agent):
    # given: 55 failed runs (pages of 50) and one success the filter leaves out
    now = timezone.now()
    failed = [make_execution(agent, at=now - timedelta(seconds=i), status="failed") for i in range(55)]
    make_execution(agent, at=now + timedelta(seconds=1))
    client.force_login(owner)

    # when
    first = client.get("/executions/", {"status": "failed"})

    # then
    page = first.context["page"]
    assert [e.pk for e in first.context["executions"]] == [e.pk for e in failed[:50]]
    assert page["total"] == 55 and page["next_cursor"] and page["prev_cursor"] is None
    html = first.content.decode()
    assert f'href="?status=failed&amp;cursor={page["next_cursor"]}" rel="next">Older</a>' in html
    second = client.get("/executions/", {"status": "failed", "cursor": page["next_cursor"]})
    assert [e.pk for e in second.context["executions"]] == [e.pk for e in failed[50:]]
    assert second.context["page"]["next_cursor"] is None
    assert 'rel="prev">Newer</a>' in second.content.decode()


def test_a_garbled_cursor_is_a_clear_error(client, owner, agent):
    client.force_login(owner)

    response = client.get("/executions/", {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert "Invalid cursor parameter." in response.content.decode()


def test_agent_executions_tab_lists_only_that_agent(client, owner, agent, make_agent):
    mine = make_execution(agent)
    other = make_execution(make_agent(owner, name="Other"))
    client.force_login(owner)

    response = client.get("/agents/busy-bot/executions/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="tab-heading">Executions</h2>' in html
    assert '<a href="/agents/busy-bot/executions/" aria-current="page">Executions</a>' in html
    assert links(html, [mine, other]) == [True, False]


# session, user, (the agent with its role,) the count, the page with its agents
@pytest.mark.parametrize("url, queries", [("/executions/", 4), ("/agents/busy-bot/executions/", 5)])
def test_list_query_count_is_the_same_for_one_or_many_rows(client, owner, agent, make_agent, url, queries,
                                                           django_assert_num_queries):
    # given
    make_execution(agent)
    client.force_login(owner)
    client.get(url)
    with django_assert_num_queries(queries):
        assert len(client.get(url).context["executions"]) == 1
    for i in range(30):
        make_execution(make_agent(owner, name=f"Agent {i}"), status="failed")
        make_execution(agent)

    # then
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert len(response.context["executions"]) == (50 if url == "/executions/" else 31)


def test_list_pages_need_a_login_and_membership(client, agent, make_user):
    assert client.get("/executions/")["Location"] == "/login/?next=/executions/"
    assert client.get("/agents/busy-bot/executions/").status_code == 302
    client.force_login(make_user("stranger"))
    assert client.get("/agents/busy-bot/executions/").status_code == 404
    assert client.get("/executions/").context["executions"] == []


# --- the execution's page ------------------------------------------------------------------------

@pytest.fixture
def diamond(agent):
    """A finished run whose two branches overlapped, one of them after a retry and a fallback."""
    execution = make_execution(agent, duration=1000, prompt=30, completion=12, cost="0.0042",
                               input={"message": "hi"}, output={"a": "A", "b": "B"})
    make_step(execution, 1, "input", start_ms=0, duration=5, node_type="input", output={"message": "hi"})
    make_step(execution, 2, "left", start_ms=10, duration=600, input={"prompt": "hi"}, output="A",
              provider="fake", model="gpt-main",
              attempts=[{"provider": "fake", "model": "gpt-main", "attempt": 1, "ok": True, "duration_ms": 590}])
    make_step(execution, 3, "right", start_ms=12, duration=800, output="B", provider="fake", model="gpt-backup",
              attempts=[{"provider": "fake", "model": "gpt-main", "attempt": 1, "ok": False, "status": 429,
                         "error": "rate limited", "duration_ms": 100},
                        {"provider": "fake", "model": "gpt-main", "attempt": 2, "ok": False, "status": 500,
                         "error": "boom", "duration_ms": 100},
                        {"provider": "fake", "model": "gpt-backup", "attempt": 1, "ok": True, "duration_ms": 550}])
    make_step(execution, 4, "output", start_ms=820, duration=3, node_type="output")
    return execution


def test_waterfall_places_each_step_on_the_executions_time_axis(diamond):
    steps = list(diamond.steps.order_by("sequence"))

    waterfall = execution_waterfall(diamond, steps)

    assert waterfall.total_ms == 1000
    rows = {row.step.node_id: row for row in waterfall.rows}
    assert (rows["left"].left, rows["left"].width) == (1.0, 60.0)
    assert (rows["right"].left, rows["right"].width) == (1.2, 80.0)
    assert rows["left"].left < rows["right"].left < rows["left"].left + rows["left"].width  # they overlap
    assert rows["output"].left == 82.0 and rows["output"].width == 0.6  # instant steps still show
    right = rows["right"]
    assert right.retries == 1 and right.fallbacks == ["gpt-backup"]
    assert [(a.kind, a.retry, a.fallback, a.left, a.width) for a in right.attempts] == [
        ("failed", False, False, 0.0, 12.5), ("failed", True, False, 12.5, 12.5), ("ok", False, True, 25.0, 68.75)]
    assert [label for _, label in waterfall.ticks] == ["0 ms", "250 ms", "500 ms", "750 ms", "1.0 s"]


def test_a_running_step_reaches_now(agent):
    now = timezone.now()
    execution = make_execution(agent, at=now - timedelta(seconds=2), status="running")
    make_step(execution, 1, "slow", start_ms=500, status="running")

    row = execution_waterfall(execution, list(execution.steps.all()), now=now).rows[0]

    assert row.running and row.duration_ms == 1500 and (row.left, row.width) == (25.0, 75.0)


def test_execution_page_shows_figures_waterfall_and_expandable_steps(client, owner, diamond):
    client.force_login(owner)

    response = client.get(f"/executions/{diamond.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge badge--succeeded">Succeeded</span>' in html
    assert '<dd class="stat">1.0 s</dd>' in html and '<dd class="stat">42</dd>' in html
    assert '<dd class="stat">$0.0042</dd>' in html
    assert 'style="left: 1.0%; width: 60.0%" data-start-ms="10" data-duration-ms="600"' in html
    assert 'style="left: 1.2%; width: 80.0%" data-start-ms="12" data-duration-ms="800"' in html
    assert '<span class="wf-flag wf-flag--retry">1 retry</span>' in html
    assert '<span class="wf-flag wf-flag--fallback">fallback: gpt-backup</span>' in html
    assert "<td>HTTP 429: rate limited</td>" in html
    assert html.count('<details id="step-') == 4
    assert "<pre>{\n  &quot;prompt&quot;: &quot;hi&quot;\n}</pre>" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no polling
    assert "Cancel execution" not in html


def test_failed_execution_shows_its_error(client, owner, agent):
    execution = make_execution(agent, status="failed", duration=10,
                               error={"code": "provider_error", "message": "all 2 candidates failed", "node_id": "llm"})
    make_step(execution, 1, "llm", start_ms=0, duration=9, status="failed",
              error={"code": "provider_error", "message": "all 2 candidates failed"})
    client.force_login(owner)

    html = client.get(f"/executions/{execution.pk}/").content.decode()

    assert '<p class="message message--error">all 2 candidates failed</p>' in html
    assert '<span class="badge badge--failed">Failed</span>' in html


def test_running_execution_polls_and_htmx_gets_the_live_part_only(client, owner, agent):
    execution = make_execution(agent, status="running")
    make_step(execution, 1, "input", start_ms=0, duration=3, node_type="input")
    client.force_login(owner)

    page = client.get(f"/executions/{execution.pk}/").content.decode()
    live = client.get(f"/executions/{execution.pk}/", HTTP_HX_REQUEST="true",
                      HTTP_HX_TARGET="execution-live").content.decode()

    assert f'hx-get="/executions/{execution.pk}/" hx-trigger="every 1s" hx-swap="outerHTML"' in page
    assert live.lstrip().startswith('<div id="execution-live"') and "<h1>" not in live
    assert 'hx-trigger="every 1s"' in live and "Cancel execution" in live
    Execution.objects.filter(pk=execution.pk).update(status="succeeded", finished_at=timezone.now(), duration_ms=5)
    done = client.get(f"/executions/{execution.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="execution-live")
    assert 'hx-trigger' not in done.content.decode()  # finished: the polling stops


def test_execution_page_access(client, agent, diamond, make_user, add_member):
    url = f"/executions/{diamond.pk}/"
    assert client.get(url)["Location"] == f"/login/?next={url}"
    client.force_login(make_user("stranger"))
    assert client.get(url).status_code == 404
    assert client.get(f"/executions/{'0' * 8}-0000-0000-0000-{'0' * 12}/").status_code == 404
    client.force_login(member(make_user, add_member, agent, "viewer"))
    assert client.get(url).status_code == 200


def test_execution_page_query_count_is_the_same_for_few_or_many_steps(client, owner, agent,
                                                                      django_assert_num_queries):
    execution = make_execution(agent, duration=100)
    make_step(execution, 1, "input", start_ms=0, duration=1, node_type="input")
    client.force_login(owner)
    client.get(f"/executions/{execution.pk}/")
    with django_assert_num_queries(5):  # session, user, execution, its agent with the role, the steps
        client.get(f"/executions/{execution.pk}/")
    for n in range(2, 30):
        make_step(execution, n, f"node{n}", start_ms=n, duration=2)
    with django_assert_num_queries(5):
        assert client.get(f"/executions/{execution.pk}/").content.decode().count('<details id="step-') == 29


# --- cancel ----------------------------------------------------------------------------------------

def test_operator_cancels_a_queued_execution_at_once(client, agent, make_user, add_member):
    execution = make_execution(agent, status="queued")
    client.force_login(member(make_user, add_member, agent, "operator"))

    response = client.post(f"/executions/{execution.pk}/cancel/", follow=True)

    assert response.redirect_chain == [(f"/executions/{execution.pk}/", 302)]
    assert [str(m) for m in response.context["messages"]] == ["Cancelled."]
    execution.refresh_from_db()
    assert execution.status == "cancelled" and execution.cancel_requested
    assert execution.events.filter(kind="done").exists()


def test_cancelling_a_running_execution_asks_it_to_stop(client, owner, agent):
    execution = make_execution(agent, status="running")
    client.force_login(owner)

    response = client.post(f"/executions/{execution.pk}/cancel/", follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Cancellation requested: the run stops at its next check."]
    execution.refresh_from_db()
    assert execution.status == "running" and execution.cancel_requested


def test_cancelling_a_finished_execution_is_a_flashed_error(client, owner, agent):
    execution = make_execution(agent, duration=3)
    client.force_login(owner)

    response = client.post(f"/executions/{execution.pk}/cancel/", follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Execution is already succeeded."]
    assert Execution.objects.get(pk=execution.pk).status == "succeeded"


def test_viewer_may_not_cancel_and_non_member_gets_404(client, agent, make_user, add_member):
    execution = make_execution(agent, status="running")
    client.force_login(member(make_user, add_member, agent, "viewer"))
    assert "Cancel execution" not in client.get(f"/executions/{execution.pk}/").content.decode()

    response = client.post(f"/executions/{execution.pk}/cancel/")

    assert response.status_code == 403 and "needs the operator role" in response.content.decode()
    client.force_login(make_user("stranger"))
    assert client.post(f"/executions/{execution.pk}/cancel/").status_code == 404
    assert not Execution.objects.get(pk=execution.pk).cancel_requested
