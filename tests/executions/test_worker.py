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


# --- many executions at once in one worker process (executions.worker) ---------------------------


def queue_runs(api, user, agent, count: int) -> list[str]:
    client = api(user)
    return [client.post(f"/api/v1/agents/{agent.slug}/run", {"prompt": f"run {i}"}, format="json")
            .json()["data"]["exec_id"] for i in range(count)]


def most_at_once(executions) -> int:
    """The most executions that were running at the same moment, from their rows."""
    edges = sorted([(e.started_at, 1) for e in executions] + [(e.finished_at, -1) for e in executions],
                   key=lambda edge: (edge[0], edge[1]))
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def finished(exec_ids: list[str]):
    rows = list(Execution.objects.filter(pk__in=exec_ids, finished_at__isnull=False))
    return rows if len(rows) == len(exec_ids) else None


@pytest.fixture
def two_slots(monkeypatch):
    """Workers started after this fixture run two executions at once."""
    monkeypatch.setenv("AGENTRY_WORKER_CONCURRENCY", "2")


@pytest.fixture
def one_slot(monkeypatch):
    monkeypatch.setenv("AGENTRY_WORKER_CONCURRENCY", "1")


def test_one_worker_process_runs_many_executions_at_once(api, user, make_agent, llm, celery_worker):
    # given eight runs whose model takes two seconds each
    llm.script("gpt-main", [Reply(text="together", delay=2.0)] * 8)
    agent = make_agent(user, pipeline=THREE_NODES)

    # when they are queued at once for one worker (a solo pool: one process, one task at a time)
    exec_ids = queue_runs(api, user, agent, 8)

    # then they all ran side by side in it
    executions = wait_for(lambda: finished(exec_ids), timeout=60)
    assert {(e.status, e.output, e.worker) for e in executions} == {("succeeded", "together", celery_worker.hostname)}
    assert most_at_once(executions) == 8
    assert max(e.started_at for e in executions) < min(e.finished_at for e in executions)


def test_a_worker_runs_no_more_executions_at_once_than_its_concurrency(two_slots, api, user, make_agent, llm,
                                                                      celery_worker):
    llm.script("gpt-main", [Reply(text="two by two", delay=1.0)] * 5)
    agent = make_agent(user, pipeline=THREE_NODES)

    exec_ids = queue_runs(api, user, agent, 5)

    executions = wait_for(lambda: finished(exec_ids), timeout=60)
    assert {e.status for e in executions} == {"succeeded"}
    assert most_at_once(executions) == 2


def test_a_stopping_worker_finishes_its_run_and_gives_back_the_one_waiting_for_a_slot(one_slot, api, user,
                                                                                     make_agent, llm, celery_worker):
    # given a one-slot worker running a run while the next one waits for the slot
    llm.script("gpt-main", [Reply(text="first", delay=2.0), Reply(text="second")])
    agent = make_agent(user, pipeline=THREE_NODES)
    first, second = queue_runs(api, user, agent, 2)
    wait_for(lambda: llm.requests)

    # when it is stopped warmly (SIGTERM)
    celery_worker.stop()

    # then it finished the run it had, and left the other queued for any worker
    assert Execution.objects.get(pk=first).status == "succeeded"
    waiting = Execution.objects.get(pk=second)
    assert waiting.status == "queued" and waiting.worker == "" and waiting.started_at is None
    celery_worker.start()
    execution = wait_for(lambda: Execution.objects.filter(pk=second, status="succeeded").first())
    assert execution.output == "second" and execution.worker == celery_worker.hostname


def test_killed_worker_leaves_none_of_its_concurrent_executions_running(api, user, make_agent, llm, celery_worker):
    llm.script("gpt-main", [Reply(text="never arrives", delay=60)] * 3)
    agent = make_agent(user, pipeline=THREE_NODES)
    exec_ids = queue_runs(api, user, agent, 3)
    wait_for(lambda: len(llm.requests) == 3)
    assert set(Execution.objects.filter(pk__in=exec_ids).values_list("status", flat=True)) == {"running"}

    celery_worker.kill()
    celery_worker.start()

    executions = wait_for(lambda: finished(exec_ids), timeout=30)
    assert {(e.status, e.error["code"]) for e in executions} == {("failed", "worker_lost")}
    assert {e.events.last().kind for e in executions} == {"done"}
