"""Execution lists, detail, events (SSE), cancel and idempotency."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actor import Actor
from executions.models import Execution, ExecutionEvent
from executions.services import runs
from tests.conftest import META_KEYS, problem
from tests.executions.conftest import THREE_NODES, invoke, read_sse
from tests.fakes.llm_server import Reply

EXECUTION_KEYS = {"id", "agent", "status", "trigger", "version", "input", "output", "error", "correlation_id",
                  "duration_ms", "tokens_used", "tokens", "cost_usd", "cancel_requested", "citations", "created_at",
                  "started_at", "finished_at"}


@pytest.mark.django_db
class TestListAndDetail:
    def test_list_shape_filters_and_bounded_queries(self, api, user, make_agent, llm,
                                                     django_assert_max_num_queries):
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        for n in range(3):
            invoke(client, agent, {"input": {"message": f"m{n}"}})
        llm.script("gpt-main", [Reply(status=400)])
        invoke(client, agent, {"input": {"message": "bad"}})

        with django_assert_max_num_queries(6):
            response = client.get(f"/api/v1/agents/{agent.slug}/executions?limit=2")
        body = response.json()
        assert set(body["meta"]) == META_KEYS and body["meta"]["total"] == 4 and body["meta"]["has_more"]
        assert all(set(item) == EXECUTION_KEYS for item in body["data"])
        assert body["data"][0]["input"] == {"message": "bad"}  # newest first
        assert body["data"][0]["agent"] == {"id": str(agent.pk), "slug": agent.slug, "name": agent.name}

        with django_assert_max_num_queries(6):
            client.get(f"/api/v1/agents/{agent.slug}/executions?limit=100")  # same count at any size

        failed = client.get(f"/api/v1/agents/{agent.slug}/executions?status=failed").json()
        assert [item["status"] for item in failed["data"]] == ["failed"]
        assert client.get(f"/api/v1/agents/{agent.slug}/executions?trigger=webhook").json()["data"] == []
        future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        assert client.get(f"/api/v1/agents/{agent.slug}/executions", {"since": future}).json()["data"] == []
        assert len(client.get(f"/api/v1/agents/{agent.slug}/executions", {"until": future}).json()["data"]) == 4
        problem(client.get(f"/api/v1/agents/{agent.slug}/executions?status=bogus"), 400, "validation_error")
        # Offsets PostgreSQL refuses are normalised to UTC; ones that leave the calendar are a 400.
        far_east = client.get(f"/api/v1/agents/{agent.slug}/executions", {"until": "0025-11-04T18:05:22+19:56"})
        assert far_east.status_code == 200 and far_east.json()["data"] == []
        problem(client.get(f"/api/v1/agents/{agent.slug}/executions", {"since": "0001-01-01T00:00:00+05:00"}),
                400, "validation_error")

        cursor = client.get(f"/api/v1/agents/{agent.slug}/executions?limit=3").json()["meta"]["next_cursor"]
        rest = client.get(f"/api/v1/agents/{agent.slug}/executions", {"limit": 3, "cursor": cursor}).json()
        assert len(rest["data"]) == 1 and rest["data"][0]["input"] == {"message": "m0"}

    def test_detail_both_paths_with_trace(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        execution_id = invoke(client, agent, {"input": {"message": "hi"}}).json()["data"]["execution_id"]

        for path in (f"/api/v1/executions/{execution_id}", f"/api/v1/agents/{agent.pk}/executions/{execution_id}"):
            data = client.get(path).json()["data"]
            assert set(data) == EXECUTION_KEYS | {"trace"}
            assert [step["node_id"] for step in data["trace"]] == ["input", "llm", "output"]
            assert data["output"] == "echo: hi"

    def test_invisible_and_unknown_executions_are_404(self, api, user, make_user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        execution_id = invoke(api(user), agent, {"input": {"message": "hi"}}).json()["data"]["execution_id"]
        other = make_agent(user)
        stranger = api(make_user())
        problem(stranger.get(f"/api/v1/executions/{execution_id}"), 404, "not_found")
        problem(stranger.post(f"/api/v1/executions/{execution_id}/cancel"), 404, "not_found")
        problem(api(user).get(f"/api/v1/agents/{other.slug}/executions/{execution_id}"), 404, "not_found")
        problem(api(user).get("/api/v1/executions/not-a-uuid"), 404, "not_found")

    def test_viewer_reads_but_cannot_cancel(self, api, user, make_user, make_agent, add_member, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        viewer = make_user()
        add_member(agent, viewer, "viewer")
        execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                            request=runs.run_request(agent, prompt="x"))
        client = api(viewer)
        assert client.get(f"/api/v1/executions/{execution.pk}").status_code == 200
        problem(client.post(f"/api/v1/executions/{execution.pk}/cancel"), 403, "permission_denied")


@pytest.mark.django_db
class TestCancel:
    def test_cancel_queued_execution(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                            request=runs.run_request(agent, prompt="x"))
        response = api(user).post(f"/api/v1/executions/{execution.pk}/cancel")
        assert response.status_code == 200
        assert response.json()["data"]["status"] == "cancelled"
        assert runs.execution_run(execution.pk) is None  # a worker picking it up later does nothing
        assert llm.requests == []
        problem(api(user).post(f"/api/v1/executions/{execution.pk}/cancel"), 409, "conflict")


@pytest.mark.django_db(transaction=True)
def test_cancel_running_execution_stops_it(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="never", delay=5)])
    agent = make_agent(user, pipeline=THREE_NODES)
    responses = []
    caller = threading.Thread(target=lambda: (responses.append(invoke(api(user), agent, {"prompt": "x"})),
                                              connections.close_all()))
    caller.start()
    llm.wait_for_requests(1)
    execution = Execution.objects.get()
    started = time.monotonic()

    cancel = api(user).post(f"/api/v1/executions/{execution.pk}/cancel")
    caller.join(10)

    assert cancel.status_code == 200 and cancel.json()["data"]["cancel_requested"] is True
    problem(responses[0], 409, "conflict")
    assert time.monotonic() - started < 3
    execution.refresh_from_db()
    assert execution.status == "cancelled"
    assert dict(execution.steps.values_list("node_id", "status")) == {"input": "succeeded", "llm": "cancelled"}


@pytest.mark.django_db
class TestEvents:
    def test_events_replay_and_resume_with_last_event_id(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        execution_id = invoke(client, agent, {"input": {"message": "hi"}}).json()["data"]["execution_id"]

        response = client.get(f"/api/v1/executions/{execution_id}/events", HTTP_ACCEPT="text/event-stream")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
        events = read_sse(response)
        stored = list(ExecutionEvent.objects.filter(execution_id=execution_id).values_list("id", "kind"))
        assert [(int(e["id"]), e["event"]) for e in events] == stored
        assert events[-1]["event"] == "done"

        # A client that saw the first three reconnects and gets exactly the rest.
        third = events[2]["id"]
        resumed = read_sse(client.get(f"/api/v1/executions/{execution_id}/events", HTTP_LAST_EVENT_ID=third))
        assert [e["id"] for e in resumed] == [e["id"] for e in events[3:]]
        by_query = read_sse(client.get(f"/api/v1/executions/{execution_id}/events?last_event_id={third}"))
        assert [e["id"] for e in by_query] == [e["id"] for e in events[3:]]
        # After the last one: nothing more, and the stream ends.
        assert read_sse(client.get(f"/api/v1/executions/{execution_id}/events",
                                   HTTP_LAST_EVENT_ID=events[-1]["id"])) == []

    def test_bad_last_event_id(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        execution_id = invoke(api(user), agent, {"input": {"message": "hi"}}).json()["data"]["execution_id"]
        problem(api(user).get(f"/api/v1/executions/{execution_id}/events", HTTP_LAST_EVENT_ID="abc"),
                400, "validation_error")


@pytest.mark.django_db
class TestIdempotency:
    def test_same_key_same_body_replays_the_first_execution(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        first = invoke(client, agent, {"input": {"message": "once"}}, HTTP_IDEMPOTENCY_KEY="k-1")
        again = invoke(client, agent, {"input": {"message": "once"}}, HTTP_X_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == again.status_code == 200
        assert again.json()["data"]["execution_id"] == first.json()["data"]["execution_id"]
        assert again["Idempotent-Replayed"] == "true"
        assert Execution.objects.count() == 1
        assert len(llm.requests) == 1

    def test_same_key_other_body_is_422(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        invoke(client, agent, {"input": {"message": "once"}}, HTTP_IDEMPOTENCY_KEY="k-1")
        problem(invoke(client, agent, {"input": {"message": "twice"}}, HTTP_IDEMPOTENCY_KEY="k-1"),
                422, "idempotency_key_reused")
        assert Execution.objects.count() == 1

    def test_keys_expire_after_24_hours(self, api, user, make_agent, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        invoke(client, agent, {"input": {"message": "once"}}, HTTP_IDEMPOTENCY_KEY="k-1")
        Execution.objects.update(created_at=timezone.now() - timedelta(hours=25))
        second = invoke(client, agent, {"input": {"message": "another"}}, HTTP_IDEMPOTENCY_KEY="k-1")
        assert second.status_code == 200
        assert Execution.objects.count() == 2

    def test_keys_belong_to_their_caller(self, api, user, make_user, make_agent, add_member, llm):
        agent = make_agent(user, pipeline=THREE_NODES)
        other = make_user()
        add_member(agent, other, "operator")
        invoke(api(user), agent, {"input": {"message": "a"}}, HTTP_IDEMPOTENCY_KEY="shared")
        assert invoke(api(other), agent, {"input": {"message": "b"}}, HTTP_IDEMPOTENCY_KEY="shared").status_code == 200
        assert Execution.objects.count() == 2

    def test_failed_first_run_replays_its_problem(self, api, user, make_agent, llm):
        llm.script("gpt-main", [Reply(status=400)])
        agent = make_agent(user, pipeline=THREE_NODES)
        client = api(user)
        first = problem(invoke(client, agent, {"prompt": "x"}, HTTP_IDEMPOTENCY_KEY="k"), 502, "provider_error")
        again = problem(invoke(client, agent, {"prompt": "x"}, HTTP_IDEMPOTENCY_KEY="k"), 502, "provider_error")
        assert first["instance"] == again["instance"]


@pytest.mark.django_db(transaction=True)
def test_same_key_while_first_is_running_is_409(user, make_token, make_agent, llm):
    llm.script("gpt-main", [Reply(text="slow answer", delay=1.5)])
    agent = make_agent(user, pipeline=THREE_NODES)
    token = make_token(user)
    results = {}

    def call(name):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        results[name] = invoke(client, agent, {"input": {"message": "x"}}, HTTP_IDEMPOTENCY_KEY="race")
        connections.close_all()

    first = threading.Thread(target=call, args=("first",))
    first.start()
    llm.wait_for_requests(1)
    second = threading.Thread(target=call, args=("second",))
    second.start()
    first.join(10)
    second.join(10)

    assert results["first"].status_code == 200
    body = problem(results["second"], 409, "idempotency_conflict")
    assert "still running" in body["detail"]
    assert results["second"]["Retry-After"] == "1"
    assert Execution.objects.count() == 1
    # Once it has finished, the same request replays it.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    replay = invoke(client, agent, {"input": {"message": "x"}}, HTTP_IDEMPOTENCY_KEY="race")
    assert replay.json()["data"]["execution_id"] == results["first"].json()["data"]["execution_id"]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_requests_create_one_execution(user, make_token, make_agent, llm):
    """Two requests with a new key at the same moment: the unique constraint
    lets one create the execution; the other answers 409 or replays it."""
    llm.script("gpt-main", [Reply(text="answer", delay=0.5)])
    agent = make_agent(user, pipeline=THREE_NODES)
    token = make_token(user)
    barrier, results = threading.Barrier(4), []

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        results.append(invoke(client, agent, {"input": {"message": "x"}}, HTTP_IDEMPOTENCY_KEY="burst"))
        connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert Execution.objects.count() == 1
    assert sorted(r.status_code for r in results).count(200) >= 1
    assert all(r.status_code in (200, 409) for r in results), [r.content for r in results]


@pytest.mark.django_db
def test_admin_lists_and_shows_executions_read_only(api, user, make_user, make_agent, llm):
    from django.test import Client

    agent = make_agent(user, pipeline=THREE_NODES)
    execution_id = invoke(api(user), agent, {"input": {"message": "hi"}}).json()["data"]["execution_id"]
    browser = Client()
    browser.force_login(make_user(is_staff=True, is_superuser=True))
    listing = browser.get("/admin/executions/execution/")
    assert listing.status_code == 200 and execution_id in listing.content.decode()
    detail = browser.get(f"/admin/executions/execution/{execution_id}/change/")
    assert detail.status_code == 200 and b"llm_call" in detail.content
    assert browser.get("/admin/executions/execution/add/").status_code == 403


@pytest.mark.django_db
def test_queueing_a_run_takes_a_bounded_number_of_queries(api, user, make_agent, llm, django_assert_max_num_queries):
    # given an agent and a client that has already been seen (its token touched)
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    assert client.get(f"/api/v1/agents/{agent.slug}").status_code == 200

    # when it queues a run, then: the token, the agent, the execution and its first event (inside the
    # savepoint execution_start takes for the idempotency race), last_activity, and the status read back
    with django_assert_max_num_queries(8):
        response = client.post(f"/api/v1/agents/{agent.slug}/run", {"prompt": "hi"}, format="json")
    assert response.status_code == 202, response.content
