"""The home dashboard and the usage numbers it charts
(``executions.analytics.usage_analytics``): per-day runs, success rate,
tokens, cost and latency percentiles from the database in a constant number
of queries, across the agents the user sees."""

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from executions.analytics import agent_usage, user_usage
from executions.selectors import execution_recent_for_user
from tests.executions.web.runs_factories import make_execution

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def nearest_rank(values, percent):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * percent / 100)) - 1] if ordered else None


# --- the numbers ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_usage_counts_each_day_of_the_range(agent):
    # given
    make_execution(agent, at=NOW, duration=100, prompt=10, completion=5, cost="0.01")
    make_execution(agent, at=NOW - timedelta(hours=1), status="failed", duration=300, prompt=20, cost="0.02")
    make_execution(agent, at=NOW - timedelta(hours=2), status="running")
    make_execution(agent, at=datetime(2026, 3, 8, 9, tzinfo=UTC), duration=200)
    make_execution(agent, at=datetime(2026, 3, 3, 23, 59, tzinfo=UTC), duration=999)  # before the 7 days

    # when
    usage = agent_usage(agent, days=7, now=NOW)

    # then
    assert usage["since"] == datetime(2026, 3, 4, tzinfo=UTC)
    assert (usage["runs"], usage["succeeded"], usage["failed"]) == (4, 2, 1)
    assert usage["success_rate"] == round(2 / 3, 4)
    assert usage["tokens"] == 35 and usage["cost_usd"] == pytest.approx(0.03)
    assert usage["latency_ms"] == {"p50": 200, "p95": 300}
    assert [d["date"] for d in usage["daily"]] == [date(2026, 3, 4) + timedelta(days=i) for i in range(7)]
    today = usage["daily"][-1]
    assert today == {"date": date(2026, 3, 10), "runs": 3, "finished": 2, "succeeded": 1, "failed": 1,
                     "success_rate": 0.5, "tokens": 35, "cost_usd": pytest.approx(0.03), "p50_ms": 100,
                     "p95_ms": 300}
    assert usage["daily"][4] == {"date": date(2026, 3, 8), "runs": 1, "finished": 1, "succeeded": 1, "failed": 0,
                                 "success_rate": 1.0, "tokens": 0, "cost_usd": 0.0, "p50_ms": 200, "p95_ms": 200}
    idle = usage["daily"][0]
    assert (idle["runs"], idle["success_rate"], idle["p50_ms"], idle["p95_ms"]) == (0, None, None, None)


@pytest.mark.django_db
def test_usage_percentiles_are_nearest_rank_per_day(agent):
    # given: days with 1 to 40 finished runs of random durations, ties included
    rng = random.Random(7)
    expected = {}
    for offset, count in enumerate((1, 2, 3, 19, 20, 21, 40)):
        day = NOW - timedelta(days=offset)
        durations = [rng.choice((5, 50, 500)) if count == 40 else rng.randint(1, 10_000) for _ in range(count)]
        for i, ms in enumerate(durations):
            make_execution(agent, at=day - timedelta(minutes=i), duration=ms)
        expected[day.date()] = (nearest_rank(durations, 50), nearest_rank(durations, 95), durations)

    # when
    usage = agent_usage(agent, days=7, now=NOW)

    # then
    for day in usage["daily"]:
        p50, p95, _ = expected[day["date"]]
        assert (day["p50_ms"], day["p95_ms"]) == (p50, p95), day["date"]
    everything = [ms for *_, durations in expected.values() for ms in durations]
    assert usage["latency_ms"] == {"p50": nearest_rank(everything, 50), "p95": nearest_rank(everything, 95)}


@pytest.mark.django_db
def test_usage_of_an_idle_agent_is_zeros_and_nones(agent):
    usage = agent_usage(agent, days=30, now=NOW)

    assert (usage["runs"], usage["tokens"], usage["cost_usd"]) == (0, 0, 0)
    assert usage["success_rate"] is None and usage["latency_ms"] == {"p50": None, "p95": None}
    assert len(usage["daily"]) == 30 and all(d["runs"] == 0 for d in usage["daily"])


@pytest.mark.django_db
def test_user_usage_covers_only_the_agents_the_user_sees(agent, owner, make_user, make_agent, add_member):
    # given
    stranger = make_user("stranger")
    theirs = make_agent(stranger, name="Theirs")
    shared = make_agent(stranger, name="Shared")
    add_member(shared, owner, "viewer")
    make_execution(agent, at=NOW, duration=10)
    make_execution(shared, at=NOW, duration=20)
    make_execution(theirs, at=NOW, duration=30)

    # then
    assert user_usage(owner, days=7, now=NOW)["runs"] == 2
    assert user_usage(stranger, days=7, now=NOW)["runs"] == 2
    assert user_usage(make_user("nobody"), days=7, now=NOW)["runs"] == 0
    assert user_usage(make_user("root", is_staff=True), days=7, now=NOW)["runs"] == 3


@pytest.mark.django_db
def test_usage_takes_two_queries_whatever_the_rows_agents_and_range(owner, make_agent, django_assert_num_queries):
    # given: one agent with one run, then many agents with many runs over many days
    first = make_agent(owner, name="First")
    make_execution(first, at=NOW, duration=10)
    with django_assert_num_queries(2):
        assert user_usage(owner, days=7, now=NOW)["runs"] == 1
    for n in range(8):
        other = make_agent(owner, name=f"Agent {n}")
        for day in range(0, 90, 7):
            make_execution(other, at=NOW - timedelta(days=day, minutes=n), duration=10 * (n + 1),
                           status="failed" if n % 3 == 0 else "succeeded", prompt=n)

    # then
    with django_assert_num_queries(2):
        assert user_usage(owner, days=7, now=NOW)["runs"] == 1 + 8
    with django_assert_num_queries(2):
        assert user_usage(owner, days=90, now=NOW)["runs"] == 1 + 8 * 13
    with django_assert_num_queries(2):
        agent_usage(first, days=90, now=NOW)


# --- the page -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_dashboard_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_dashboard_charts_usage_and_lists_the_latest_executions(client, owner, agent, make_user, make_agent):
    # given
    make_execution(agent, duration=120, prompt=100, completion=23, cost="0.5")
    make_execution(agent, status="failed", duration=80)
    hidden = make_execution(make_agent(make_user("other"), name="Hidden"), duration=5)
    client.force_login(owner)

    # when
    response = client.get("/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="usage-heading">Usage, last 30 days</h2>' in html
    assert html.count('<svg class="chart-plot"') == 5
    assert 'aria-labelledby="chart-runs-title"' in html
    assert "Runs per day over the last 30 days: 2 in total, 1 failed, at most 2 a day." in html
    assert "<caption>Usage per day over the last 30 days, newest first (UTC days)</caption>" in html
    assert html.count("<tr><th scope=\"row\"><time") == 30
    today = timezone.now().astimezone(UTC).date().isoformat()
    assert (f'<time datetime="{today}">') in html
    assert '<dd class="stat">50%</dd>' in html and '<dd class="stat">123</dd>' in html
    assert '<a href="?days=30" hx-get="?days=30" hx-target="#usage" hx-swap="outerHTML" hx-push-url="true" ' \
           'aria-current="true">30 days</a>' in html
    assert f"/executions/{hidden.pk}/" not in html
    assert 'href="/agents/busy-bot/"' in html


@pytest.mark.django_db
def test_period_switch_answers_htmx_with_the_usage_section_only(client, owner, agent):
    make_execution(agent, duration=10)
    client.force_login(owner)

    response = client.get("/", {"days": "7"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="usage")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="usage"')
    assert "<h1>" not in html and "Usage, last 7 days" in html
    assert html.count("<tr><th scope=\"row\"><time") == 7


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "14", "abc", "365"])
def test_period_other_than_7_30_or_90_is_a_clear_error(client, owner, days):
    client.force_login(owner)

    response = client.get("/", {"days": days})

    assert response.status_code == 400
    assert "days must be one of 7, 30, 90." in response.content.decode()


@pytest.mark.django_db
def test_dashboard_query_count_does_not_grow_with_agents_or_executions(client, owner, make_agent,
                                                                       django_assert_num_queries):
    # given
    first = make_agent(owner, name="First")
    make_execution(first, duration=10)
    client.force_login(owner)
    client.get("/")
    # session, user, the two usage queries, the agents, the executions with their agents
    with django_assert_num_queries(6):
        assert client.get("/").status_code == 200
    for n in range(12):
        other = make_agent(owner, name=f"Agent {n}")
        for day in range(5):
            make_execution(other, at=timezone.now() - timedelta(days=day), duration=n + 1)

    # then
    with django_assert_num_queries(6):
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_latest_executions_are_the_ten_newest_of_the_agents_the_user_sees(owner, agent, make_user, make_agent,
                                                                              add_member, django_assert_num_queries):
    # given executions of two of the owner's agents (four of them at one instant) and a stranger's newer ones
    other = make_agent(owner, name="Other")
    instant = timezone.now() - timedelta(minutes=30)
    mine = [make_execution(agent if i % 2 else other, at=instant if i < 4 else instant + timedelta(seconds=i))
            for i in range(14)]
    stranger = make_agent(make_user("stranger"), name="Theirs")
    for i in range(3):
        make_execution(stranger, at=timezone.now())
    newest_first = sorted(mine, key=lambda run: (run.created_at, run.pk), reverse=True)

    # when
    with django_assert_num_queries(1):
        recent = execution_recent_for_user(user=owner, limit=10)
        agents = [run.agent.name for run in recent]

    # then
    assert [run.pk for run in recent] == [run.pk for run in newest_first[:10]]
    assert set(agents) == {"Other", agent.name}
    viewer = make_user("viewer")
    add_member(stranger, viewer, "viewer")
    assert len(execution_recent_for_user(user=viewer, limit=10)) == 3
    assert len(execution_recent_for_user(user=make_user("root", is_staff=True), limit=20)) == 17


@pytest.mark.django_db
def test_usage_reads_the_runs_of_the_users_agents_not_every_finished_run(owner, agent, make_user, make_agent):
    """SQLite keeps no statistics, and for ``status IN (finished...)`` it took
    the reaper's (status, heartbeat_at) index while it covered every row:
    every finished run of every agent read, for a user with a handful of runs.
    The usage's statements read the user's agents' runs through their own
    index (the reaper's indexes now hold live executions only)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its statistics")
    make_execution(agent, at=NOW, duration=10)
    with CaptureQueriesContext(connection) as queries:
        user_usage(owner, days=7, now=NOW)
    assert len(queries.captured_queries) == 2
    for query in queries.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            plan = [row[3] for row in cursor.fetchall()]
        assert any("execution_agent_created_id" in step for step in plan), plan
        assert not any("execution_running" in step or "execution_queued" in step for step in plan), plan
