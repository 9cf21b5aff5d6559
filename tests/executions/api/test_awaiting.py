"""Views that wait for a run or a model call wait on the event loop
(core.awaiting), served by the real ASGI application: other requests answer
meanwhile, errors still answer as problems, and a client that leaves does not
stop its run."""

import json
import socket
import threading
import time

import django.core.handlers.asgi
import django.core.handlers.base
import django.dispatch.dispatcher
import httpx
import pytest

import core.asgi
from core import awaiting
from executions import live
from executions.models import Execution, ExecutionStatus
from executions.services import execute
from tests.executions.conftest import THREE_NODES
from tests.fakes.llm_server import Reply
from tests.trips import count_trips

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held():
    """The fake model's answer, kept back until the test sets it (set at the end in any case)."""
    release = threading.Event()
    yield release
    release.set()


@pytest.fixture
def caller(user, make_token):
    return {"Authorization": f"Bearer {make_token(user)}"}


@pytest.fixture
def trips(monkeypatch, settings):
    """What Django's ASGI handler, core.awaiting and the engine take to the
    database thread while the server answers, by the name of what they ran."""
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60  # no watchdog tick mid-run on a slow machine
    return count_trips(monkeypatch, core.asgi, django.core.handlers.asgi, django.core.handlers.base,
                       django.dispatch.dispatcher, awaiting, execute)


def _wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_other_requests_answer_while_an_invoke_waits_for_its_model(
        asgi_server, user, caller, make_agent, llm, held):
    llm.script("gpt-main", [Reply(text="Paris.", hold=held)])
    agent = make_agent(user, pipeline=THREE_NODES)
    answers = []

    def invoke():
        with httpx.Client(base_url=asgi_server.url, timeout=30) as client:
            answers.append(client.post(f"/api/v1/agents/{agent.slug}/invoke", headers=caller,
                                       json={"input": {"message": "Capital of France?"}}))

    invoking = threading.Thread(target=invoke)
    invoking.start()
    llm.wait_for_requests(1)
    execution = Execution.objects.get(agent=agent)
    assert execution.status == ExecutionStatus.RUNNING

    # While the model holds its answer, the sync code of other requests runs:
    # a read, and a second invoke of the same agent, which answers first.
    with httpx.Client(base_url=asgi_server.url, timeout=5) as client:
        me = client.get("/api/v1/auth/me", headers=caller)
        second = client.post(f"/api/v1/agents/{agent.slug}/invoke", headers=caller,
                             json={"input": {"message": "And of Spain?"}})
    assert me.status_code == 200
    assert me.json()["data"]["username"] == user.username
    assert second.status_code == 200, second.text
    assert second.json()["data"]["output"] == "echo: And of Spain?"
    assert not answers

    held.set()
    invoking.join(10)
    (first,) = answers
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert data["execution_id"] == str(execution.pk) and data["output"] == "Paris."
    assert first.headers["X-Execution-ID"] == str(execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.output == "Paris."


def test_a_failed_run_still_answers_its_problem(asgi_server, user, caller, make_agent, llm):
    llm.script("gpt-main", [Reply(status=400, error="bad request, said the model")])
    agent = make_agent(user, pipeline=THREE_NODES)

    with httpx.Client(base_url=asgi_server.url, timeout=10) as client:
        response = client.post(f"/api/v1/agents/{agent.slug}/invoke", headers=caller,
                               json={"input": {"message": "hi"}})

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/problem+json"
    execution = Execution.objects.get(agent=agent)
    body = response.json()
    assert body["code"] == "provider_error" and body["instance"] == f"/api/v1/executions/{execution.pk}"
    assert response.headers["X-Execution-ID"] == str(execution.pk)
    assert execution.status == ExecutionStatus.FAILED


def test_a_client_that_leaves_does_not_stop_its_run(asgi_server, user, caller, make_agent, llm, held, caplog):
    llm.script("gpt-main", [Reply(text="Paris.", hold=held)])
    agent = make_agent(user, pipeline=THREE_NODES)
    body = json.dumps({"input": {"message": "Capital of France?"}}).encode()
    head = (f"POST /api/v1/agents/{agent.slug}/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {caller['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()

    with socket.create_connection(("127.0.0.1", asgi_server.port), timeout=10) as client:
        client.sendall(head + body)
        llm.wait_for_requests(1)
    # The client is gone before the model answers.
    execution = Execution.objects.get(agent=agent)
    held.set()

    _wait_for(lambda: Execution.objects.get(pk=execution.pk).status != ExecutionStatus.RUNNING)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.output == "Paris."
    assert list(execution.steps.values_list("node_id", "status")) == [
        ("input", "succeeded"), ("llm", "succeeded"), ("output", "succeeded")]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_other_requests_answer_while_a_provider_test_waits(asgi_server, user, caller, staff, make_token, llm, held):
    llm.script("gpt-main", [Reply(text="ok", usage=(7, 1), hold=held)])
    answers = []
    admin = {"Authorization": f"Bearer {make_token(staff)}"}

    def provider_test():
        with httpx.Client(base_url=asgi_server.url, timeout=30) as client:
            answers.append(client.post("/api/v1/providers/fake/test", json={}, headers=admin))

    testing = threading.Thread(target=provider_test)
    testing.start()
    llm.wait_for_requests(1)

    with httpx.Client(base_url=asgi_server.url, timeout=5) as client:
        me = client.get("/api/v1/auth/me", headers=caller)
    assert me.status_code == 200 and not answers

    held.set()
    testing.join(10)
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    result = answer.json()["data"]
    assert (result["ok"], result["model"], result["output"]) == (True, "gpt-main", "ok")
    assert result["usage"] == {"prompt": 7, "completion": 1}


def test_an_invoke_goes_to_the_database_thread_for_its_view_and_its_outcome_only(
        asgi_server, user, caller, make_agent, llm, trips):
    agent = make_agent(user, pipeline=THREE_NODES)

    with httpx.Client(base_url=asgi_server.url, timeout=10) as client:
        response = client.post(f"/api/v1/agents/{agent.slug}/invoke", headers=caller,
                               json={"input": {"message": "hi"}})

    assert response.status_code == 200 and response.json()["data"]["output"] == "echo: hi"
    _wait_for(lambda: "_closed" in trips)  # after the response is sent
    # The view, request_started's receivers first and its response rendered there; the run's end with its
    # answer built and rendered (no trip to answer, none to render); response.close.
    assert trips == ["_viewed", *(["_start_run"] if live.shared() else []), "_finish", "_closed"]


def test_a_failed_run_answers_its_problem_from_the_trip_that_finishes_it(
        asgi_server, user, caller, make_agent, llm, trips):
    llm.script("gpt-main", [Reply(status=400, error="bad request, said the model")])
    agent = make_agent(user, pipeline=THREE_NODES)

    with httpx.Client(base_url=asgi_server.url, timeout=10) as client:
        response = client.post(f"/api/v1/agents/{agent.slug}/invoke", headers=caller,
                               json={"input": {"message": "hi"}})

    assert response.status_code == 502 and response.json()["code"] == "provider_error"
    _wait_for(lambda: "_closed" in trips)
    # As for a success; Django logs the 502 on a thread of its own (log_response, not thread-sensitive).
    assert trips == ["_viewed", *(["_start_run"] if live.shared() else []), "_finish", "log_response", "_closed"]


def test_a_sync_view_renders_its_response_in_its_own_trip(asgi_server, caller, trips):
    with httpx.Client(base_url=asgi_server.url, timeout=10) as client:
        response = client.get("/api/v1/auth/me", headers=caller)
        _wait_for(lambda: "_closed" in trips)
        missing = client.get("/api/v1/agents/no-such-agent", headers=caller)
        _wait_for(lambda: trips.count("_closed") == 2)

    assert response.status_code == 200 and response.json()["data"]["username"]
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    # The view (DRF's, named after its class for a viewset) with request_started's receivers first, then
    # the response's close: no trip for request_started, none to render.  Django logs the 404 on a thread
    # of its own (not thread-sensitive).
    assert trips == ["view", "_closed", "AgentViewSet", "log_response", "_closed"]
