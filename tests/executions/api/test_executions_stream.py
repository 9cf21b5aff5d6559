"""POST /agents/{agent}/run/stream: the run's steps as Server-Sent Events
(seed 001), then ``done`` with the result."""

import json

import pytest

from executions.models import Execution, ExecutionEvent
from tests.conftest import problem
from tests.executions.conftest import THREE_NODES, asgi_client, read_sse
from tests.fakes.llm_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_stream_sends_steps_deltas_then_done(user, make_token, make_agent, llm):
    llm.script("gpt-main", [Reply(text="Paris is the capital", chunks=["Paris ", "is the ", "capital"],
                                  chunk_delay=0.05, usage=(9, 4))])
    agent = make_agent(user, pipeline=THREE_NODES)

    response = asgi_client(make_token(user)).post(
        f"/api/v1/agents/{agent.slug}/run/stream", {"input": {"message": "capital?"}},
        content_type="application/json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    events = read_sse(response)
    steps = [json.loads(e["data"]) for e in events if e["event"] == "step"]
    assert [(s["node_id"], s["role"]) for s in steps] == [("input", "user"), ("llm", "assistant"),
                                                          ("output", "assistant")]
    assert all({"id", "role", "content", "node_id", "agent_iteration_id"} <= set(s) for s in steps)
    assert steps[1]["content"] == "Paris is the capital"
    deltas = [json.loads(e["data"])["content"] for e in events if e["event"] == "delta"]
    assert "".join(deltas) == "Paris is the capital"
    assert all("id" not in e for e in events if e["event"] == "delta")  # live only, not resumable
    assert events[-1]["event"] == "done"
    done = json.loads(events[-1]["data"])
    assert done["status"] == "succeeded" and done["output"] == "Paris is the capital"
    assert done["tokens"] == {"prompt": 9, "completion": 4}

    execution = Execution.objects.get(pk=response["X-Execution-ID"])
    stored_steps = ExecutionEvent.objects.filter(execution=execution, kind="step").values_list("id", flat=True)
    assert [int(e["id"]) for e in events if e["event"] == "step"] == list(stored_steps)
    assert llm.requests[-1].body["stream"] is True


def test_run_stream_under_wsgi_sends_stored_events(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    response = api(user).post(f"/api/v1/agents/{agent.slug}/run/stream", {"prompt": "hi"}, format="json")
    assert not response.is_async  # a plain generator: no buffering by the WSGI server
    events = read_sse(response)
    assert [e["event"] for e in events] == ["step", "step", "step", "done"]
    assert json.loads(events[-1]["data"])["output"] == "echo: hi"


def test_events_stream_under_asgi_follows_a_running_execution(user, make_token, make_agent, llm):
    llm.script("gpt-main", [Reply(text="slow", delay=0.5)])
    agent = make_agent(user, pipeline=THREE_NODES)
    token = make_token(user)
    client = asgi_client(token)
    started = client.post(f"/api/v1/agents/{agent.slug}/run/stream", {"prompt": "x"},
                          content_type="application/json")
    execution_id = started["X-Execution-ID"]
    events = read_sse(client.get(f"/api/v1/executions/{execution_id}/events"))
    assert [e["event"] for e in events if e["event"] != "delta"][-1] == "done"
    assert [e["event"] for e in events].count("step") == 3
    read_sse(started)  # let the first stream finish too


def test_run_stream_failure_ends_with_failed_done(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(status=400, error="bad request")])
    agent = make_agent(user, pipeline=THREE_NODES)
    events = read_sse(api(user).post(f"/api/v1/agents/{agent.slug}/run/stream", {"prompt": "x"}, format="json"))
    done = json.loads(events[-1]["data"])
    assert events[-1]["event"] == "done"
    assert done["status"] == "failed" and done["error"]["code"] == "provider_error"


def test_run_stream_checks_input_before_streaming(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    problem(api(user).post(f"/api/v1/agents/{agent.slug}/run/stream", {"input": {}}, format="json"),
            400, "validation_error")
    assert not Execution.objects.exists()


def test_run_stream_with_an_idempotency_key_replays_the_first_run(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    path = f"/api/v1/agents/{agent.slug}/run/stream"
    first = client.post(path, {"prompt": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    first_events = read_sse(first)
    again = client.post(path, {"prompt": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")

    assert again["X-Execution-ID"] == first["X-Execution-ID"] and again["Idempotent-Replayed"] == "true"
    assert read_sse(again) == first_events
    assert Execution.objects.count() == 1 and len(llm.requests) == 1
    problem(client.post(path, {"prompt": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="s-1"),
            422, "idempotency_key_reused")
