"""Async runs in a real Celery worker process: completion, live events, and a
worker killed mid-run."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actor import Actor
from executions.models import Execution
from executions.services import reaper, runs
from tests.executions.conftest import THREE_NODES, read_sse
from tests.fakes.llm_server import Reply
from tests.fakes.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_async_execution_completes_in_a_worker(api, user, make_agent, llm, celery_worker):
    llm.script("gpt-main", [Reply(text="done by the worker", usage=(100, 20))])
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)

    response = client.post(f"/api/v1/agents/{agent.slug}/run", {"input": {"message": "hi"}}, format="json",
                           HTTP_X_CORRELATION_ID="async-1")

    assert response.status_code == 202, response.content
    data = response.json()["data"]
    assert set(data) == {"exec_id", "exec_url", "status"} and data["status"] == "queued"
    assert data["exec_url"].endswith(f"/api/v1/executions/{data['exec_id']}")
    assert response["Location"] == data["exec_url"]
    assert response["X-Correlation-ID"] == "async-1"
    execution = wait_for(lambda: Execution.objects.filter(pk=data["exec_id"], status="succeeded").first())
    assert execution.output == "done by the worker"
    assert execution.worker == celery_worker.hostname
    assert execution.tokens_prompt == 100 and execution.correlation_id == "async-1"
    detail = client.get(data["exec_url"]).json()["data"]
    assert [step["node_id"] for step in detail["trace"]] == ["input", "llm", "output"]


def test_executions_async_endpoint_and_events_stream_of_a_worker_run(api, user, make_agent, llm, celery_worker):
    llm.script("gpt-main", [Reply(text="slowly", delay=1.0)])
    agent = make_agent(user, pipeline=THREE_NODES)
    client = api(user)
    exec_id = client.post(f"/api/v1/agents/{agent.slug}/executions/async", {"prompt": "hi"},
                          format="json").json()["data"]["exec_id"]

    # Follow it while it runs in the other process: the stream ends with done.
    events = read_sse(client.get(f"/api/v1/executions/{exec_id}/events"))

    kinds = [event["event"] for event in events]
    assert kinds[0] == "status" and kinds[-1] == "done"
    assert "running" in "".join(event["data"] for event in events if event["event"] == "status")
    ids = [int(event["id"]) for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert '"output":"slowly"' in events[-1]["data"]


def start_a_run_that_hangs(api, user, make_agent, llm) -> str:
    """Queue a run whose model never answers; return once the worker is inside it."""
    llm.script("gpt-main", [Reply(text="never arrives", delay=60)])
    agent = make_agent(user, pipeline=THREE_NODES)
    exec_id = api(user).post(f"/api/v1/agents/{agent.slug}/run", {"prompt": "hi"},
                             format="json").json()["data"]["exec_id"]
    wait_for(lambda: llm.requests)
    return exec_id


def test_killed_worker_leaves_no_execution_running(api, user, make_agent, llm, celery_worker):
    exec_id = start_a_run_that_hangs(api, user, make_agent, llm)
    assert Execution.objects.get(pk=exec_id).status == "running"

    celery_worker.kill()
    # The same worker coming back settles what its previous life left running.
    celery_worker.start()

    execution = wait_for(lambda: Execution.objects.filter(pk=exec_id, status="failed").first(), timeout=30)
    assert execution.error["code"] == "worker_lost"
    assert execution.events.last().kind == "done"


def test_reaper_fails_runs_whose_heartbeat_stopped(api, user, make_agent, llm, celery_worker):
    exec_id = start_a_run_that_hangs(api, user, make_agent, llm)
    time.sleep(1.2)
    assert reaper.reap_stale_executions(stale_after=5) == []  # the live worker keeps beating

    celery_worker.kill()
    time.sleep(1.5)
    assert reaper.reap_stale_executions(stale_after=1) == [Execution.objects.get(pk=exec_id).pk]
    execution = Execution.objects.get(pk=exec_id)
    assert execution.status == "failed" and execution.error["code"] == "worker_lost"


def test_reaper_sends_again_an_execution_whose_message_was_lost(user, make_agent, llm, celery_worker):
    from executions import tasks

    agent = make_agent(user, pipeline=THREE_NODES)
    # Queued and committed, but never handed to the broker: what a worker
    # killed between taking the message and claiming the run leaves behind.
    execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                        request=runs.run_request(agent, prompt="lost"))
    Execution.objects.filter(pk=execution.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))

    tasks.executions_reap_task()

    execution = wait_for(lambda: Execution.objects.filter(pk=execution.pk, status="succeeded").first(), timeout=30)
    assert execution.output == "echo: lost" and execution.worker == celery_worker.hostname


def test_unreachable_broker_fails_the_execution_instead_of_leaving_it_queued(api, user, make_agent, llm):
    from config.celery import app
    from tests.conftest import problem
    from tests.fakes.worker import _reset_broker_connections

    agent = make_agent(user, pipeline=THREE_NODES)
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    _reset_broker_connections(app)
    try:
        response = api(user).post(f"/api/v1/agents/{agent.slug}/run", {"prompt": "hi"}, format="json")
    finally:
        app.conf.broker_url = saved
        _reset_broker_connections(app)

    body = problem(response, 503, "server_error")
    execution = Execution.objects.get()
    assert body["instance"] == f"/api/v1/executions/{execution.pk}"
    assert execution.status == "failed" and "queue" in execution.error["message"]


def test_streams_hear_worker_runs_through_the_channel_layer(user, make_token, make_agent, llm, celery_worker,
                                                            settings):
    """With Redis, a stream in this process wakes on events a worker announces,
    without waiting for its next poll of the table."""
    if not settings.REDIS_URL:
        pytest.skip("needs a channel layer shared between processes (REDIS_URL)")
    from tests.executions.conftest import asgi_client

    settings.AGENTRY_SSE_POLL_SECONDS = 60  # polling alone could not finish in time
    llm.script("gpt-main", [Reply(text="announced", delay=0.5)])
    agent = make_agent(user, pipeline=THREE_NODES)
    client = asgi_client(make_token(user))
    exec_id = client.post(f"/api/v1/agents/{agent.slug}/run", {"prompt": "hi"},
                          content_type="application/json").json()["data"]["exec_id"]

    started = time.monotonic()
    events = read_sse(client.get(f"/api/v1/executions/{exec_id}/events"))

    assert events[-1]["event"] == "done" and '"output":"announced"' in events[-1]["data"]
    assert time.monotonic() - started < 15
