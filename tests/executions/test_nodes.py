"""Node types that reach outside: the agent loop with tools, http_request,
subagent and knowledge_search."""

import json
import logging

import pytest

from executions.models import Execution, ExecutionEvent, ExecutionStep
from tests.conftest import problem
from tests.executions.conftest import THREE_NODES, input_node, invoke, output_node, pipeline
from tests.fakes.llm_server import Reply
from tests.fakes.web import QuietHandler, serving

pytestmark = pytest.mark.django_db


class _Handler(QuietHandler):
    def do_GET(self):
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.end_headers()
            return
        self.send_json(200, {"path": self.path, "agent": self.headers.get("X-Agent")})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_json(201, {"received": body})


@pytest.fixture
def web():
    with serving(_Handler, redirect_to="http://10.255.255.1/secret") as server:
        yield server


def http_pipeline(url, **data):
    return pipeline(input_node({"type": "object"}),
                    {"id": "call", "type": "http_request", "data": {"url": url, **data}},
                    output_node("{{nodes.call.output}}"), edges=[("input", "call"), ("call", "output")])


def test_http_request_node_get_and_post(api, user, make_agent, llm, web):
    base = f"http://127.0.0.1:{web.server_port}"
    agent = make_agent(user, config={"env": {"WHO": "bot"}}, pipeline=http_pipeline(
        base + "/items/{{input.id}}", headers={"X-Agent": "{{env.WHO}}"}))
    data = invoke(api(user), agent, {"input": {"id": 7}}).json()["data"]
    assert data["output"]["status"] == 200
    assert data["output"]["body"] == {"path": "/items/7", "agent": "bot"}

    agent = make_agent(user, pipeline=http_pipeline(base + "/create", method="POST",
                                                     body={"name": "{{input.name}}", "n": "{{input.n}}"}))
    data = invoke(api(user), agent, {"input": {"name": "Ada", "n": 3}}).json()["data"]
    assert data["output"]["status"] == 201
    assert data["output"]["body"] == {"received": {"name": "Ada", "n": 3}}


def test_http_request_to_private_address_is_refused(api, user, make_agent, llm, web, settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []
    agent = make_agent(user, pipeline=http_pipeline(f"http://127.0.0.1:{web.server_port}/items/1"))
    body = problem(invoke(api(user), agent, {"input": {}}), 422, "pipeline_error")
    assert "127.0.0.1" in body["detail"]
    assert Execution.objects.get().status == "failed"


def test_http_request_redirect_to_private_address_is_refused(api, user, make_agent, llm, web, settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]  # the first hop is allowed, 10.x is not
    agent = make_agent(user, pipeline=http_pipeline(f"http://127.0.0.1:{web.server_port}/redirect"))
    body = problem(invoke(api(user), agent, {"input": {}}), 422, "pipeline_error")
    assert "10.255.255.1" in body["detail"]


def test_http_request_connection_failure_is_502(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=http_pipeline("http://127.0.0.1:1/nothing", timeout=2))
    problem(invoke(api(user), agent, {"input": {}}), 502, "provider_error")


def test_agent_loop_calls_tools_and_feeds_results_back(api, user, make_agent, llm, web):
    base = f"http://127.0.0.1:{web.server_port}"
    llm.script("gpt-main", [
        Reply(tool_calls=[("lookup", {"id": "42"})], usage=(50, 10)),
        Reply(text="Item 42 lives at /items/42.", usage=(80, 12)),
    ])
    agent = make_agent(user, config={
        "instructions": "Use tools.", "model": {"provider": "fake", "model": "gpt-main"},
        "tools": [{"id": "lookup", "type": "http_request", "description": "Look an item up.",
                   "config": {"url": base + "/items/{{args.id}}",
                              "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}]})

    data = invoke(api(user), agent, {"prompt": "Where is item 42?", "options": {"trace": True}}).json()["data"]

    assert data["output"] == "Item 42 lives at /items/42."
    assert data["tokens"] == {"prompt": 130, "completion": 22}
    first, second = llm.requests
    assert first.body["tools"][0]["function"]["name"] == "lookup"
    assert first.body["tools"][0]["function"]["parameters"]["properties"] == {"id": {"type": "string"}}
    tool_message = second.body["messages"][-1]
    assert tool_message["role"] == "tool" and '"path": "/items/42"' in tool_message["content"]
    agent_step = next(s for s in data["trace"] if s["type"] == "agent")
    assert len(agent_step["attempts"]) == 2
    streamed = [e.data for e in ExecutionEvent.objects.filter(kind="step") if e.data["node_id"] == "agent"]
    assert [e["role"] for e in streamed] == ["assistant", "tool", "assistant"]
    assert streamed[0]["agent_iteration_id"] == streamed[1]["agent_iteration_id"] != streamed[2]["agent_iteration_id"]


def test_agent_loop_stops_at_max_iterations(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(tool_calls=[("unknown_tool", {})])] * 3)
    agent = make_agent(user, config={"model": {"provider": "fake", "model": "gpt-main"}, "max_iterations": 3})
    body = problem(invoke(api(user), agent, {"prompt": "loop"}), 422, "pipeline_error")
    assert "max_iterations=3" in body["detail"]
    assert len(llm.requests) == 3
    assert "no tool named 'unknown_tool'" in llm.requests[-1].body["messages"][-1]["content"]


def test_subagent_runs_another_agent_the_caller_may_run(api, user, make_user, make_agent, add_member, llm):
    helper = make_agent(user, name="Helper", pipeline=pipeline(
        input_node({"type": "object"}), {"id": "t", "type": "template", "data": {"template": "helped: {{input.q}}"}},
        output_node("{{nodes.t.output}}"), edges=[("input", "t"), ("t", "output")]))
    parent = make_agent(user, name="Parent", pipeline=pipeline(
        input_node({"type": "object"}),
        {"id": "sub", "type": "subagent", "data": {"agent": helper.slug, "input": {"q": "{{input.question}}"}}},
        output_node("{{nodes.sub.output}}"), edges=[("input", "sub"), ("sub", "output")]))

    data = invoke(api(user), parent, {"input": {"question": "why?"}}).json()["data"]
    assert data["output"] == "helped: why?"
    nodes = list(ExecutionStep.objects.filter(execution_id=data["execution_id"]).values_list("node_id", flat=True))
    assert nodes == ["input", "sub", "sub/input", "sub/t", "sub/output", "output"]

    # An operator of the parent who cannot see the helper cannot run it through the parent.
    operator = make_user()
    add_member(parent, operator, "operator")
    body = problem(invoke(api(operator), parent, {"input": {"question": "why?"}}), 422, "pipeline_error")
    assert "not found" in body["detail"]
    # Nor can a viewer of the helper.
    add_member(helper, operator, "viewer")
    body = problem(invoke(api(operator), parent, {"input": {"question": "why?"}}), 422, "pipeline_error")
    assert "operator role" in body["detail"]


def test_knowledge_search_without_documents_finds_nothing(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=pipeline(
        input_node(), {"id": "kb", "type": "knowledge_search", "data": {"query": "{{input.message}}", "top_k": 3}},
        output_node("{{nodes.kb.output}}"), edges=[("input", "kb"), ("kb", "output")]))
    data = invoke(api(user), agent, {"input": {"message": "refunds"}}).json()["data"]
    assert data["output"] == {"query": "refunds", "mode": "full_text", "results": [],
                              "note": "No embedding model is configured, so this is full-text search only."}
    assert data["citations"] == []


def test_api_keys_never_reach_responses_or_logs(api, user, make_agent, llm, caplog):
    caplog.set_level(logging.DEBUG)
    llm.script("gpt-main", [Reply(status=401, error="invalid key sk-test-secret-123")] * 3)
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    response = invoke(client, agent, {"input": {"message": "x"}, "options": {"trace": True}})
    execution = Execution.objects.get()
    detail = client.get(f"/api/v1/executions/{execution.pk}")
    providers = client.get("/api/v1/providers")

    for body in (response.content, detail.content, providers.content):
        assert b"sk-test-secret-123" not in body
    assert "sk-test-secret-123" not in caplog.text
    assert "sk-test-secret-123" not in json.dumps([s.attempts for s in execution.steps.all()])
