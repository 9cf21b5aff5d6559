"""GET /agents/{agent}/cost-estimate."""

import pytest

from tests.conftest import problem
from tests.executions.conftest import THREE_NODES
from tests.fakes.llm_server import Reply

pytestmark = pytest.mark.django_db


def test_static_estimate_prices_each_model_node(api, user, make_agent, llm):
    agent = make_agent(user, config={"model": {"provider": "fake", "model": "gpt-main", "params": {"max_tokens": 500}}},
                       pipeline=THREE_NODES)
    data = api(user).get(f"/api/v1/agents/{agent.slug}/cost-estimate").json()["data"]

    assert data["currency"] == "USD"
    static = data["static"]
    [node] = static["nodes"]
    assert node["node_id"] == "llm" and node["provider"] == "fake" and node["model"] == "gpt-main"
    assert node["priced"] is True and node["tokens"]["completion"] == 500
    expected = (node["tokens"]["prompt"] * 2.0 + 500 * 8.0) / 1_000_000
    assert node["cost_usd"] == pytest.approx(expected)
    assert static["cost_usd"] == pytest.approx(expected) == static["max_cost_usd"]
    assert data["history"] == {"executions": 0, "avg": None, "p95": None, "nodes": []}


def test_agent_nodes_count_their_iterations_and_unpriced_models_cost_nothing(api, user, make_agent, llm):
    agent = make_agent(user, config={"model": {"provider": "echo", "model": "echo"}, "max_iterations": 4})
    static = api(user).get(f"/api/v1/agents/{agent.slug}/cost-estimate").json()["data"]["static"]
    [node] = static["nodes"]
    assert node["type"] == "agent" and node["max_calls"] == 4
    assert node["priced"] is False and node["cost_usd"] == 0


def test_history_average_and_p95(api, user, make_agent, llm, django_assert_max_num_queries):
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    for n in range(1, 21):
        llm.enqueue(Reply(text="x", usage=(n * 100, 0)))
        client.post(f"/api/v1/agents/{agent.slug}/invoke", {"prompt": "q"}, format="json")

    with django_assert_max_num_queries(8):
        history = client.get(f"/api/v1/agents/{agent.slug}/cost-estimate").json()["data"]["history"]

    assert history["executions"] == 20
    assert history["avg"]["tokens_used"] == pytest.approx(1050)
    assert history["p95"]["tokens_used"] == 1900
    assert history["p95"]["cost_usd"] == pytest.approx(1900 * 2.0 / 1_000_000)
    llm_node = next(n for n in history["nodes"] if n["node_id"] == "llm")
    assert llm_node["runs"] == 20 and llm_node["avg_tokens"]["prompt"] == pytest.approx(1050)

    recent = client.get(f"/api/v1/agents/{agent.slug}/cost-estimate?sample_size=5").json()["data"]["history"]
    assert recent["executions"] == 5 and recent["avg"]["tokens_used"] == pytest.approx(1800)
    problem(client.get(f"/api/v1/agents/{agent.slug}/cost-estimate?sample_size=0"), 400, "validation_error")


def test_viewer_may_read_non_member_may_not(api, user, make_user, make_agent, add_member, llm):
    agent = make_agent(user)
    viewer = make_user()
    add_member(agent, viewer, "viewer")
    assert api(viewer, scopes=["agents:read"]).get(f"/api/v1/agents/{agent.slug}/cost-estimate").status_code == 200
    problem(api(make_user()).get(f"/api/v1/agents/{agent.slug}/cost-estimate"), 404, "not_found")


def test_agent_stats_count_executions(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    for _ in range(2):
        client.post(f"/api/v1/agents/{agent.slug}/invoke", {"prompt": "q"}, format="json")
    assert client.get(f"/api/v1/agents/{agent.slug}").json()["data"]["stats"]["executions"] == 2
    listed = client.get("/api/v1/agents").json()["data"]
    assert next(a for a in listed if a["id"] == str(agent.pk))["stats"]["executions"] == 2
