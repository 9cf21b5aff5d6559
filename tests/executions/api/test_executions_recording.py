"""What an invoke costs the database, and streams that join a run while its
events are still in memory (``executions.services.recording``)."""

import json
import threading
import time

import pytest
from django.db import connections

from executions import live
from executions.api.sse import LiveEvent, _Cursor
from executions.models import Execution, ExecutionEvent, ExecutionStep
from tests.executions.conftest import THREE_NODES, asgi_client, invoke, read_sse
from tests.fakes.llm_server import Reply


@pytest.mark.django_db(transaction=True)
def test_invoke_of_a_three_node_pipeline_takes_at_most_ten_queries(api, user, make_agent, llm, settings,
                                                                    django_assert_max_num_queries):
    # given a server that has run before (its token touched, event ids reserved once, which on a
    # fresh SQLite table first starts the table's counter) and no watchdog tick during the run
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 30
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    assert invoke(client, agent, {"input": {"message": "warm"}}).status_code == 200

    # when it invokes the pipeline, then: the token, the agent, the execution, the provider, and the outcome
    # in one transaction (status, steps, events, last_activity; BEGIN and COMMIT count); with a channel layer
    # shared between processes a block of event ids too (anyone anywhere may be listening)
    with django_assert_max_num_queries(10 + live.shared()):
        response = invoke(client, agent, {"input": {"message": "hi"}})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["output"] == "echo: hi"
    assert list(ExecutionStep.objects.filter(execution_id=data["execution_id"]).values_list("node_id", "status")) \
        == [("input", "succeeded"), ("llm", "succeeded"), ("output", "succeeded")]
    kinds = list(ExecutionEvent.objects.filter(execution_id=data["execution_id"]).values_list("kind", flat=True))
    assert kinds == ["status", "node_started", "step", "node_started", "step", "node_started", "step", "done"]
    assert json.loads(json.dumps(ExecutionEvent.objects.get(execution_id=data["execution_id"], kind="done").data)) \
        == {**data, "citations": []}


@pytest.mark.django_db(transaction=True)
def test_streams_joining_mid_run_see_every_event_once_with_or_without_last_event_id(
        user, make_token, make_agent, llm, settings):
    # given a streamed run inside its model call, nothing of it written yet (no watchdog tick), and
    # streams that would poll the table only every 30 s: what they get comes from the run's log and live
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 30
    settings.AGENTRY_SSE_POLL_SECONDS = 30
    llm.script("gpt-main", [Reply(text="slow answer", chunks=["slow ", "answer"], chunk_delay=0.3, delay=0.7)])
    agent = make_agent(user, pipeline=THREE_NODES)
    token = make_token(user)
    started = asgi_client(token).post(f"/api/v1/agents/{agent.slug}/run/stream", {"prompt": "x"},
                                      content_type="application/json")
    execution_id = started["X-Execution-ID"]
    llm.wait_for_requests(1)
    queued = ExecutionEvent.objects.get(execution_id=execution_id)
    assert queued.kind == "status"  # the only one in the table

    # when one stream joins from the start and another resumes after the queued status
    streams = {}

    def follow(name, headers):
        client = asgi_client(token)
        client.headers.update(headers)
        streams[name] = read_sse(client.get(f"/api/v1/executions/{execution_id}/events"))
        connections.close_all()

    readers = [threading.Thread(target=follow, args=("joined", {})),
               threading.Thread(target=follow, args=("resumed", {"Last-Event-ID": str(queued.id)}))]
    began = time.monotonic()
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(20)
    read_sse(started)

    # then each got every stored event once, in order, under its stored id, long before a poll
    assert time.monotonic() - began < 10
    stored = [(str(i), kind) for i, kind in
              ExecutionEvent.objects.filter(execution_id=execution_id).values_list("id", "kind")]
    assert [kind for _, kind in stored] == ["status", "status", "node_started", "step", "node_started", "step",
                                            "node_started", "step", "done"]
    for name, expected in (("joined", stored), ("resumed", stored[1:])):
        assert [(e["id"], e["event"]) for e in streams[name] if e["event"] != "delta"] == expected, name
    assert "".join(json.loads(e["data"])["content"] for e in streams["joined"] if e["event"] == "delta") \
        == "slow answer"
    assert Execution.objects.get(pk=execution_id).status == "succeeded"


def test_a_live_event_goes_out_only_right_after_the_last_one_sent():
    cursor = _Cursor(last_id=10, kinds=None)

    def announced(event_id, after, kind="step"):
        return {"type": "event", "id": event_id, "after": after, "event": kind, "data": {"n": event_id}}

    chunks, look = cursor.follow(announced(12, after=10))
    assert look is False and chunks[0].startswith(b"id: 12\nevent: step\n") and cursor.last_id == 12
    # one after an event this reader never got (a gap): read the table instead
    assert cursor.follow(announced(20, after=15)) == ([], True) and cursor.last_id == 12
    # one it has sent already (read from the table first): dropped
    assert cursor.follow(announced(11, after=10)) == ([], False)
    # a bare wake-up (a writer without a run log): read the table
    assert cursor.follow({"type": "event", "id": 13}) == ([], True)
    chunks, _ = cursor.follow(announced(13, after=12, kind="done"))
    assert cursor.done and b"event: done" in chunks[0]


def test_filtered_kinds_still_move_the_cursor():
    cursor = _Cursor(last_id=0, kinds=("step", "done"))
    assert cursor.accept([LiveEvent(1, "node_started", {}), LiveEvent(2, "step", {})]) == [
        b'id: 2\nevent: step\ndata: {}\n\n']
    assert cursor.last_id == 2
