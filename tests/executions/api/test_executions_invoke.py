"""Synchronous runs: POST /agents/{agent}/invoke and /executions, through the
real SDK clients against the fake LLM server."""

import json
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from accounts.actor import Actor
from agents.models import Agent
from executions import live
from executions.models import Execution, ExecutionEvent, ExecutionStep
from executions.services import execute, runs
from tests.conftest import problem
from tests.executions.conftest import THREE_NODES, input_node, invoke, llm_node, output_node, pipeline
from tests.fakes.llm_server import Reply
from tests.trips import count_trips

pytestmark = pytest.mark.django_db

RESULT_KEYS = {"execution_id", "status", "output", "duration_ms", "tokens_used", "tokens", "cost_usd", "version",
               "error", "citations"}
TRACE_KEYS = {"id", "node_id", "type", "status", "started_at", "finished_at", "duration_ms", "input", "output",
              "provider", "model", "tokens_used", "tokens", "cost_usd", "attempts", "error"}


def test_three_node_pipeline_returns_answer_usage_cost_and_trace(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="Paris.", usage=(1000, 250))])
    agent = make_agent(user, pipeline=THREE_NODES)

    response = invoke(api(user), agent, {"input": {"message": "Capital of France?"}, "options": {"trace": True}})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == RESULT_KEYS | {"trace"}
    assert data["status"] == "succeeded"
    assert data["output"] == "Paris."
    assert data["tokens"] == {"prompt": 1000, "completion": 250}
    assert data["tokens_used"] == 1250
    # 1000 × $2/M + 250 × $8/M
    assert data["cost_usd"] == pytest.approx(0.004)
    assert data["duration_ms"] >= 0
    assert data["version"] is None and data["error"] is None
    trace = data["trace"]
    assert [(s["node_id"], s["type"], s["status"]) for s in trace] == [
        ("input", "input", "succeeded"), ("llm", "llm_call", "succeeded"), ("output", "output", "succeeded")]
    assert all(set(step) == TRACE_KEYS for step in trace)
    assert trace[1]["tokens"] == {"prompt": 1000, "completion": 250}
    assert trace[1]["provider"] == "fake" and trace[1]["model"] == "gpt-main"
    assert trace[1]["input"]["messages"][-1] == {"role": "user", "content": "Capital of France?"}
    assert [a["ok"] for a in trace[1]["attempts"]] == [True]

    execution = Execution.objects.get(pk=data["execution_id"])
    assert execution.status == "succeeded" and execution.trigger == "api"
    assert execution.cost_usd == Decimal("0.004")
    assert response["X-Execution-ID"] == str(execution.pk)
    assert list(execution.steps.values_list("node_id", flat=True)) == ["input", "llm", "output"]
    kinds = list(ExecutionEvent.objects.filter(execution=execution).values_list("kind", flat=True))
    assert kinds[0] == "status" and kinds[-1] == "done" and kinds.count("step") == 3
    # The real SDK sent the request, with the key, to the fake server.
    sent = llm.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-test-secret-123"
    assert sent.body["model"] == "gpt-main"
    assert b"sk-test-secret-123" not in response.content


def test_trace_only_when_asked(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    data = invoke(api(user), agent, {"input": {"message": "hi"}}).json()["data"]
    assert "trace" not in data
    assert data["output"] == "echo: hi"


def test_prompt_becomes_input_message(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    data = invoke(api(user), agent, {"prompt": "from a prompt"}).json()["data"]
    assert data["output"] == "echo: from a prompt"
    assert Execution.objects.get(pk=data["execution_id"]).input == {"message": "from a prompt"}


def test_anthropic_provider(api, user, make_agent, llm):
    llm.script("claude-main", [Reply(text="Bonjour", usage=(40, 2))])
    agent = make_agent(user, pipeline=pipeline(
        input_node(), llm_node(provider="fake-anthropic", model="claude-main"), output_node(),
        edges=[("input", "llm"), ("llm", "output")]))
    data = invoke(api(user), agent, {"input": {"message": "hello"}}).json()["data"]
    assert data["output"] == "Bonjour"
    assert data["tokens"] == {"prompt": 40, "completion": 2}
    assert llm.requests[-1].headers["authorization"] == "Bearer sk-ant-secret-456"  # the 2.x SDK's header


def test_agent_without_nodes_runs_config_as_agent_node(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="I am configured.")])
    agent = make_agent(user, config={"instructions": "Be brief.", "model": {"provider": "fake", "model": "gpt-main"}})
    data = invoke(api(user), agent, {"prompt": "who are you?", "options": {"trace": True}}).json()["data"]
    assert data["output"] == "I am configured."
    assert [s["type"] for s in data["trace"]] == ["input", "agent", "output"]
    body = llm.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_diamond_branches_overlap_in_time(api, user, make_agent, llm):
    llm.script("gpt-a", [Reply(text="A", delay=0.6)])
    llm.script("gpt-b", [Reply(text="B", delay=0.6)])
    agent = make_agent(user, pipeline=pipeline(
        input_node(), llm_node("a", model="gpt-a"), llm_node("b", model="gpt-b"),
        output_node({"a": "{{nodes.a.output}}", "b": "{{nodes.b.output}}"}),
        edges=[("input", "a"), ("input", "b"), ("a", "output"), ("b", "output")]))

    data = invoke(api(user), agent, {"input": {"message": "go"}}).json()["data"]

    assert data["output"] == {"a": "A", "b": "B"}
    steps = {s.node_id: s for s in ExecutionStep.objects.filter(execution_id=data["execution_id"])}
    a, b = steps["a"], steps["b"]
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # they overlapped
    assert data["duration_ms"] < 1100  # not 0.6 + 0.6 one after the other
    assert steps["output"].started_at >= max(a.finished_at, b.finished_at)


def test_condition_routes_to_one_branch_and_skips_the_other(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=pipeline(
        input_node({"type": "object"}),
        {"id": "check", "type": "condition", "data": {"expression": "input.priority == 'high'"}},
        {"id": "urgent", "type": "template", "data": {"template": "URGENT: {{input.text}}"}},
        {"id": "normal", "type": "template", "data": {"template": "normal: {{input.text}}"}},
        {"id": "output", "type": "output", "data": {}},
        edges=[("input", "check"), ("check", "urgent", {"condition": "true"}),
               ("check", "normal", {"condition": "false"}), ("urgent", "output"), ("normal", "output")]))
    client = api(user)

    high = invoke(client, agent, {"input": {"priority": "high", "text": "fire"}}).json()["data"]
    low = invoke(client, agent, {"input": {"priority": "low", "text": "typo"}}).json()["data"]

    assert high["output"] == "URGENT: fire"
    assert low["output"] == "normal: typo"
    ran = set(ExecutionStep.objects.filter(execution_id=low["execution_id"]).values_list("node_id", flat=True))
    assert ran == {"input", "check", "normal", "output"}


def test_templates_see_env_and_are_sandboxed(api, user, make_agent, llm):
    agent = make_agent(user, config={"env": {"GREETING": "Hello", "TOKEN": {"value": "s3cret", "secret": True}}},
                       pipeline=pipeline(
                           input_node(),
                           {"id": "t", "type": "template", "data": {"template": "{{env.GREETING}}, {{input.message}}"}},
                           output_node("{{nodes.t.output}}"), edges=[("input", "t"), ("t", "output")]))
    data = invoke(api(user), agent, {"input": {"message": "Ada"}}).json()["data"]
    assert data["output"] == "Hello, Ada"

    # Python internals are out of reach: unsafe attributes render as nothing.
    agent.pipeline["nodes"][1]["data"]["template"] = "{{ input.__class__.__mro__ }}{{ ''.__class__ }}"
    Agent.objects.filter(pk=agent.pk).update(pipeline=agent.pipeline)
    assert invoke(api(user), agent, {"input": {"message": "x"}}).json()["data"]["output"] == ""


def test_input_violating_schema_is_400_and_runs_nothing(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)

    body = problem(invoke(api(user), agent, {"input": {"message": 42}}), 400, "validation_error")
    assert body["errors"] == {"input.message": ["42 is not of type 'string'"]}
    body = problem(invoke(api(user), agent, {"input": {}}), 400, "validation_error")
    assert body["errors"] == {"input.message": ["This field is required."]}
    assert not Execution.objects.exists()
    assert llm.requests == []


@pytest.mark.parametrize("body, field", [
    ({"input": "not an object"}, "input"),
    ({"input": {"message": "x"}, "prompt": "y"}, "prompt"),
    ({"input": {"message": "x"}, "options": {"timeout": 0}}, "options.timeout"),
    ({"input": {"message": "x"}, "options": {"timeout": 10**9}}, "options.timeout"),
    ({"input": {"message": "x"}, "options": {"version": "nope"}}, "options.version"),
    ({"input": {"message": "x"}, "options": {"bogus": 1}}, "options.bogus"),
    ({"input": {"message": "x"}, "surprise": 1}, "surprise"),
    ({"action": "missing"}, "action"),
])
def test_bad_run_bodies_are_400(api, user, make_agent, llm, body, field):
    agent = make_agent(user, pipeline=THREE_NODES)
    result = problem(invoke(api(user), agent, body), 400, "validation_error")
    assert field in result["errors"], result
    assert not Execution.objects.exists()


def test_action_with_parameters(api, user, make_agent, llm):
    agent = make_agent(user, config={
        "model": {"provider": "fake", "model": "gpt-main"},
        "actions": [{"id": "greet", "prompt": "Say hello to {{input.name}}",
                     "input": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}]})
    client = api(user)
    response = client.post(f"/api/v1/agents/{agent.slug}/executions", {"action": "greet", "with": {"name": "Ada"}},
                           format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["output"] == "echo: Say hello to Ada"
    assert data["exec_id"] == data["execution_id"]
    body = problem(client.post(f"/api/v1/agents/{agent.slug}/executions", {"action": "greet", "with": {}},
                               format="json"), 400, "validation_error")
    assert body["errors"] == {"with.name": ["This field is required."]}


def test_compozy_timeout_in_seconds(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="late", delay=2)])
    agent = make_agent(user, pipeline=THREE_NODES)
    response = api(user).post(f"/api/v1/agents/{agent.slug}/executions", {"prompt": "x", "timeout": 1},
                              format="json")
    problem(response, 504, "timeout")


def test_provider_500_retries_then_falls_back(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(status=500)] * 3)
    llm.script("gpt-backup", [Reply(text="from the backup", usage=(10, 5))])
    agent = make_agent(user, config={"fallback_models": [{"provider": "fake", "model": "gpt-backup"}]},
                       pipeline=THREE_NODES)

    data = invoke(api(user), agent, {"input": {"message": "x"}, "options": {"trace": True}}).json()["data"]

    assert data["output"] == "from the backup"
    attempts = data["trace"][1]["attempts"]
    assert [(a["model"], a["ok"], a["status"]) for a in attempts] == [
        ("gpt-main", False, 500), ("gpt-main", False, 500), ("gpt-main", False, 500), ("gpt-backup", True, None)]
    assert data["trace"][1]["model"] == "gpt-backup"
    assert [r.model for r in llm.requests] == ["gpt-main"] * 3 + ["gpt-backup"]


def test_all_providers_failing_is_502_with_failed_execution_and_partial_trace(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(status=500, error="upstream exploded")] * 3)
    llm.script("gpt-backup", [Reply(status=503)] * 3)
    agent = make_agent(user, config={"fallback_models": [{"provider": "fake", "model": "gpt-backup"}]},
                       pipeline=THREE_NODES)

    response = invoke(api(user), agent, {"input": {"message": "x"}})

    body = problem(response, 502, "provider_error")
    execution = Execution.objects.get()
    assert body["instance"] == f"/api/v1/executions/{execution.pk}"
    assert response["X-Execution-ID"] == str(execution.pk)
    assert execution.status == "failed"
    assert execution.error["code"] == "provider_error" and execution.error["node_id"] == "llm"
    steps = list(execution.steps.order_by("sequence"))
    assert [(s.node_id, s.status) for s in steps] == [("input", "succeeded"), ("llm", "failed")]
    assert len(steps[1].attempts) == 6
    assert b"sk-test-secret-123" not in response.content
    assert "sk-test-secret-123" not in json.dumps(execution.error)


def test_rate_limit_honours_retry_after(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(status=429, retry_after=1), Reply(text="ok now")])
    agent = make_agent(user, pipeline=THREE_NODES)
    data = invoke(api(user), agent, {"input": {"message": "x"}}).json()["data"]
    assert data["output"] == "ok now"
    first, second = llm.requests
    assert second.received_at - first.received_at >= 0.95


def test_timeout_is_504_and_timed_out(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="too late", delay=3)])
    agent = make_agent(user, pipeline=THREE_NODES)

    response = invoke(api(user), agent, {"input": {"message": "x"}, "options": {"timeout": 400}})

    problem(response, 504, "timeout")
    execution = Execution.objects.get()
    assert execution.status == "timed_out"
    assert execution.duration_ms < 2500
    assert dict(execution.steps.values_list("node_id", "status")) == {"input": "succeeded", "llm": "cancelled"}
    assert execution.events.last().kind == "done"


def test_node_timeout_fails_the_node(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="too late", delay=3)])
    agent = make_agent(user, pipeline=pipeline(input_node(), llm_node(timeout=0.3), output_node(),
                                               edges=[("input", "llm"), ("llm", "output")]))
    problem(invoke(api(user), agent, {"input": {"message": "x"}}), 504, "timeout")
    step = ExecutionStep.objects.get(node_id="llm")
    assert step.status == "failed" and step.error["code"] == "timeout"


def test_paused_agent_refuses_runs(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    Agent.objects.filter(pk=agent.pk).update(status="paused")
    problem(invoke(api(user), agent, {"input": {"message": "x"}}), 409, "agent_not_active")
    assert not Execution.objects.exists()


def test_correlation_id_is_stored_and_echoed(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    response = invoke(api(user), agent, {"input": {"message": "x"}}, HTTP_X_CORRELATION_ID="req-42")
    assert response["X-Correlation-ID"] == "req-42"
    assert Execution.objects.get().correlation_id == "req-42"


@pytest.mark.parametrize("role, scopes, status", [
    ("viewer", None, 403), ("operator", None, 200), ("admin", None, 200),
    ("operator", ["agents:read", "agents:write"], 403),
])
def test_who_may_invoke(api, user, make_user, make_agent, add_member, llm, role, scopes, status):
    agent = make_agent(user, pipeline=THREE_NODES)
    member = make_user()
    add_member(agent, member, role)
    response = invoke(api(member, scopes=scopes), agent, {"input": {"message": "x"}})
    assert response.status_code == status, response.content


def test_non_member_gets_404(api, user, make_user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    problem(invoke(api(make_user()), agent, {"input": {"message": "x"}}), 404, "not_found")


def test_session_runs_are_manual(user, make_agent, llm):
    from tests.conftest import session

    agent = make_agent(user, pipeline=THREE_NODES)
    client = session(user)
    client.enforce_csrf_checks = False
    response = client.post(f"/api/v1/agents/{agent.slug}/invoke", {"prompt": "x"}, format="json")
    assert response.status_code == 200
    assert Execution.objects.get().trigger == "manual"


@pytest.fixture
def trips(monkeypatch, settings):
    """The engine's trips from the run's event loop to the database thread, by what they ran."""
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60  # no watchdog tick mid-run on a slow machine
    return count_trips(monkeypatch, execute)


# With a channel layer shared between processes someone may listen anywhere: ids are reserved, a trip.
FIRST_TRIP = ["_start_run"] if live.shared() else []


def test_a_synchronous_run_reads_before_its_first_node_on_the_requests_thread(api, user, make_agent, llm, trips):
    agent = make_agent(user, pipeline=THREE_NODES)

    response = invoke(api(user), agent, {"prompt": "hello"})

    assert response.status_code == 200 and response.json()["data"]["output"] == "echo: hello"
    # The last trip finishes the run and builds the answer (core.awaiting's in_last_trip).
    assert trips == [*FIRST_TRIP, "_finish"]


def test_a_queued_run_reads_its_row_and_its_inputs_in_one_trip(user, make_agent, llm, trips):
    agent = make_agent(user, pipeline=THREE_NODES)
    execution, _created = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                               request=runs.run_request(agent, prompt="hello"))

    finished = runs.execution_run(execution.pk)

    assert finished.status == "succeeded" and finished.output == "echo: hello"
    assert trips == ["_execution_to_run", *FIRST_TRIP, "_finish"]


def test_a_definition_that_cannot_be_read_fails_the_run_it_was_prepared_for(user, make_agent, llm, trips):
    agent = make_agent(user, pipeline=THREE_NODES)
    execution, _created = runs.execution_start(agent=agent, actor=Actor(user=user),
                                               request=runs.run_request(agent, prompt="hello"))
    execution.options["version"] = 99  # no such version: what run_inputs reads is the run's problem
    del execution.definition
    runs.run_prepare(execution)

    async_to_sync(runs.run_started)(execution)

    stored = Execution.objects.get(pk=execution.pk)
    assert stored.status == "failed" and stored.error["node_id"] is None
    assert ExecutionEvent.objects.filter(execution=stored).values_list("kind", flat=True).last() == "done"
