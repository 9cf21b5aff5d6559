"""An agent's analytics: the numbers (``executions.analytics``), their range
and zero-filled days, a constant number of queries, and the endpoint's
validation and roles."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from executions.analytics import agent_analytics
from executions.conversations.models import Message, Thread
from executions.models import Execution
from tests.conftest import problem

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
KEYS = {"days", "since", "sessions_count", "runs_count", "success_rate", "total_tokens", "total_cost_usd",
        "daily_runs", "latency_ms", "ttft_ms", "runs_by_trigger"}


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Busy Bot", slug="busy-bot")


def execution(agent, at, *, status="succeeded", trigger="api", duration=None, prompt=0, completion=0, cost="0"):
    return Execution.objects.create(agent=agent, status=status, trigger=trigger, timeout_ms=1000, created_at=at,
                                    duration_ms=duration, tokens_prompt=prompt, tokens_completion=completion,
                                    cost_usd=Decimal(cost))


def message(thread, at, *, role="assistant", ttft=None):
    return Message.objects.create(thread=thread, role=role, ttft_ms=ttft, created_at=at)


@pytest.fixture
def history(agent, owner, make_agent):
    other = make_agent(owner, name="Other")
    execution(agent, NOW, duration=100, prompt=10, completion=5, cost="0.01")
    execution(agent, NOW - timedelta(hours=2), status="failed", trigger="webhook", duration=300, prompt=20,
              cost="0.02")
    execution(agent, datetime(2026, 3, 8, 9, tzinfo=UTC), trigger="schedule", duration=200)
    execution(agent, datetime(2026, 3, 9, 9, tzinfo=UTC), status="running")
    execution(agent, datetime(2026, 3, 4, tzinfo=UTC), status="timed_out", trigger="chat", duration=5000)
    execution(agent, datetime(2026, 3, 3, 23, 59, tzinfo=UTC), duration=999, prompt=1000)  # before the range
    execution(other, NOW, duration=1, prompt=1000)  # another agent's
    talk, older, outside = (Thread.objects.create(agent=agent, created_by=owner) for _ in range(3))
    message(talk, NOW - timedelta(hours=1), role="user")
    message(talk, NOW - timedelta(minutes=59), ttft=300)
    message(older, datetime(2026, 3, 5, tzinfo=UTC), ttft=100)
    message(older, datetime(2026, 3, 6, tzinfo=UTC), ttft=500)
    message(outside, datetime(2026, 3, 1, tzinfo=UTC), ttft=1)
    message(Thread.objects.create(agent=other, created_by=owner), NOW, ttft=1)


@pytest.mark.django_db
def test_analytics_aggregates_the_range(agent, history):
    # when
    data = agent_analytics(agent, days=7, now=NOW)

    # then
    assert set(data) == KEYS
    assert data["since"] == datetime(2026, 3, 4, tzinfo=UTC)
    assert data["runs_count"] == 5
    assert data["success_rate"] == 0.5  # 2 of the 4 finished
    assert data["total_tokens"] == 35 and data["total_cost_usd"] == 0.03
    assert data["latency_ms"] == {"p50": 200, "p95": 5000}
    assert data["sessions_count"] == 2
    assert data["ttft_ms"] == {"p50": 300}
    assert data["runs_by_trigger"] == {"manual": 0, "api": 2, "webhook": 1, "schedule": 1, "heartbeat": 0,
                                       "chat": 1, "knowledge": 0}
    assert data["daily_runs"] == [
        {"date": "2026-03-04", "count": 1, "tokens": 0, "cost_usd": 0.0},
        {"date": "2026-03-05", "count": 0, "tokens": 0, "cost_usd": 0.0},
        {"date": "2026-03-06", "count": 0, "tokens": 0, "cost_usd": 0.0},
        {"date": "2026-03-07", "count": 0, "tokens": 0, "cost_usd": 0.0},
        {"date": "2026-03-08", "count": 1, "tokens": 0, "cost_usd": 0.0},
        {"date": "2026-03-09", "count": 1, "tokens": 0, "cost_usd": 0.0},
        {"date": "2026-03-10", "count": 2, "tokens": 35, "cost_usd": 0.03},
    ]


@pytest.mark.django_db
def test_analytics_of_an_idle_agent_are_zeros_and_nulls(agent):
    data = agent_analytics(agent, days=3, now=NOW)

    assert (data["runs_count"], data["sessions_count"], data["total_tokens"], data["total_cost_usd"]) == (0, 0, 0, 0)
    assert data["success_rate"] is None
    assert data["latency_ms"] == {"p50": None, "p95": None} and data["ttft_ms"] == {"p50": None}
    assert [d["date"] for d in data["daily_runs"]] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert all(d["count"] == 0 for d in data["daily_runs"])


@pytest.mark.django_db
def test_analytics_queries_are_few_and_do_not_depend_on_the_range(agent, history, django_assert_num_queries):
    with django_assert_num_queries(6):
        assert agent_analytics(agent, days=1, now=NOW)["runs_count"] == 2
    with django_assert_num_queries(6):
        assert agent_analytics(agent, days=365, now=NOW)["runs_count"] == 6


# --- the endpoint ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_endpoint_answers_with_the_last_30_days_by_default(api, owner, agent):
    execution(agent, timezone.now(), duration=50, prompt=3, completion=4, cost="0.5")
    execution(agent, timezone.now() - timedelta(days=40))

    response = api(owner).get(f"/api/v1/agents/{agent.slug}/analytics")

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == KEYS
    assert data["days"] == 30 and len(data["daily_runs"]) == 30
    assert data["daily_runs"][-1] == {"date": timezone.now().astimezone(UTC).date().isoformat(), "count": 1,
                                      "tokens": 7, "cost_usd": 0.5}
    assert (data["runs_count"], data["success_rate"], data["total_tokens"], data["total_cost_usd"]) == (1, 1.0, 7, 0.5)
    assert data["latency_ms"] == {"p50": 50, "p95": 50}
    assert api(owner).get(f"/api/v1/agents/{agent.slug}/analytics?days=365").json()["data"]["runs_count"] == 2


@pytest.mark.django_db
def test_endpoint_query_count_is_constant_whatever_the_days(api, owner, agent, django_assert_num_queries):
    for n in range(3):
        execution(agent, timezone.now() - timedelta(days=n * 100), duration=10 * n)
    message(Thread.objects.create(agent=agent, created_by=owner), timezone.now(), ttft=40)
    client = api(owner)
    client.get(f"/api/v1/agents/{agent.slug}/analytics")  # the token's last_used_at is written once

    with django_assert_num_queries(8):
        assert client.get(f"/api/v1/agents/{agent.slug}/analytics?days=1").json()["data"]["runs_count"] == 1
    with django_assert_num_queries(8):
        assert client.get(f"/api/v1/agents/{agent.slug}/analytics?days=365").json()["data"]["runs_count"] == 3


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "366", "-1", "ten", "1.5", ""])
def test_bad_days_are_400(api, owner, agent, days):
    body = problem(api(owner).get(f"/api/v1/agents/{agent.slug}/analytics?days={days}"), 400, "validation_error")
    assert "days" in body["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_member_may_read_analytics(api, agent, make_user, add_member, role):
    member = make_user(role)
    add_member(agent, member, role)

    assert api(member).get(f"/api/v1/agents/{agent.slug}/analytics").status_code == 200


@pytest.mark.django_db
def test_strangers_get_404_and_tokens_need_the_read_scope(api, owner, agent, make_user):
    body = problem(api(make_user()).get(f"/api/v1/agents/{agent.slug}/analytics"), 404, "not_found")
    assert body["detail"] == "Agent not found."
    body = problem(api(owner, scopes=["agents:write", "agents:run"]).get(f"/api/v1/agents/{agent.slug}/analytics"),
                   403, "permission_denied")
    assert "agents:read" in body["detail"]
    problem(api().get(f"/api/v1/agents/{agent.slug}/analytics"), 401, "not_authenticated")
