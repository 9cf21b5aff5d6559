"""Webhooks: the public trigger that queues a run with ``trigger=webhook``.
Managing the secret URL is tested in tests/agents/api/test_webhooks.py."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actor import Actor
from agents.models import Agent
from agents.services import agent_set_status
from agents.services.webhooks import webhook_rotate
from executions.models import Execution
from tests.agents.api.test_webhooks import hook
from tests.conftest import problem
from tests.executions.conftest import THREE_NODES

# --- the public trigger ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_trigger_queues_a_webhook_run_with_the_body_as_input(owner, agent, secret):
    response = hook(agent.pk, secret, {"message": "from github", "ref": "main"}, HTTP_X_CORRELATION_ID="gh-1")

    assert response.status_code == 202, response.content
    data = response.json()["data"]
    assert set(data) == {"exec_id", "exec_url", "status"} and data["status"] == "queued"
    assert data["exec_url"] == f"http://testserver/api/v1/executions/{data['exec_id']}"
    assert response["Location"] == data["exec_url"] and response["X-Correlation-ID"] == "gh-1"
    execution = Execution.objects.get(pk=data["exec_id"])
    assert execution.trigger == "webhook" and execution.status == "queued"
    assert execution.input == {"message": "from github", "ref": "main"}
    assert execution.agent_id == agent.pk and execution.requested_by == owner and execution.token is None


@pytest.mark.django_db
def test_trigger_by_slug_with_a_trailing_slash(agent, secret):
    response = APIClient().post(f"/api/v1/hooks/{agent.slug}/{secret}/", {"message": "hi"}, format="json")

    assert response.status_code == 202
    assert Execution.objects.get().trigger == "webhook"


@pytest.mark.django_db
def test_trigger_needs_no_credentials_and_ignores_a_session_or_bad_token(owner, agent, secret):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(owner)

    with_session = browser.post(f"/api/v1/hooks/{agent.pk}/{secret}", {"message": "a"}, format="json")
    with_bad_token = hook(agent.pk, secret, {"message": "b"}, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert with_session.status_code == 202, with_session.content
    assert with_bad_token.status_code == 202, with_bad_token.content


@pytest.mark.django_db
def test_wrong_absent_or_unknown_all_answer_the_same_404(agent, secret, make_agent, owner):
    other = make_agent(owner, name="No Hook")
    cases = [
        hook(agent.pk, "wrong-" + secret[6:]),
        hook(agent.slug, secret[:-1]),
        APIClient().post(f"/api/v1/hooks/{agent.pk}", {}, format="json"),
        APIClient().post(f"/api/v1/hooks/{agent.pk}/", {}, format="json"),
        hook("00000000-0000-0000-0000-000000000000", secret),
        hook("no-such-agent", secret),
        hook("not a slug!", secret),
        hook(other.pk, secret),  # an agent without a webhook
    ]

    bodies = [problem(response, 404, "not_found") for response in cases]

    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["instance"] == "/api/v1/hooks" and secret not in json.dumps(bodies[0])
    assert not Execution.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [["a", "list"], "text", 42, None])
def test_body_that_is_not_an_object_is_400(agent, secret, body):
    response = APIClient().post(f"/api/v1/hooks/{agent.pk}/{secret}", json.dumps(body),
                                content_type="application/json")

    problem_ = problem(response, 400, "validation_error")
    assert problem_["errors"] == {"body": ["Must be a JSON object."]}
    assert secret not in json.dumps(problem_)
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_malformed_json_and_wrong_media_type(agent, secret):
    url = f"/api/v1/hooks/{agent.pk}/{secret}"

    problem(APIClient().post(url, "{not json", content_type="application/json"), 400, "validation_error")
    problem(APIClient().post(url, "message=hi", content_type="application/x-www-form-urlencoded"), 415,
            "unsupported_media_type")
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_input_the_pipeline_refuses_is_400(agent, secret):
    response = hook(agent.pk, secret, {"text": "no message field"})

    assert "message" in problem(response, 400, "validation_error")["detail"]
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_other_methods_are_405(agent, secret):
    response = APIClient().get(f"/api/v1/hooks/{agent.pk}/{secret}")

    assert problem(response, 405, "method_not_allowed")["instance"] == "/api/v1/hooks"


@pytest.mark.django_db
def test_paused_agent_is_409_agent_not_active(owner, agent, secret):
    agent_set_status(agent=agent, actor=Actor(user=owner), status="paused")

    problem(hook(agent.pk, secret, {"message": "hi"}), 409, "agent_not_active")
    problem(hook(agent.pk, "wrong", {"message": "hi"}), 404, "not_found")  # the secret is checked first
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_idempotency_key_is_honoured_like_run(agent, secret):
    first = hook(agent.pk, secret, {"message": "once"}, HTTP_IDEMPOTENCY_KEY="delivery-1")
    exec_id = first.json()["data"]["exec_id"]

    # While the first is still queued: 409; another body with the key: 422.
    problem(hook(agent.pk, secret, {"message": "once"}, HTTP_IDEMPOTENCY_KEY="delivery-1"), 409,
            "idempotency_conflict")
    problem(hook(agent.pk, secret, {"message": "other"}, HTTP_IDEMPOTENCY_KEY="delivery-1"), 422,
            "idempotency_key_reused")
    Execution.objects.filter(pk=exec_id).update(status="succeeded", finished_at=timezone.now())
    replay = hook(agent.pk, secret, {"message": "once"}, HTTP_X_IDEMPOTENCY_KEY="delivery-1")

    assert replay.status_code == 202 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["data"] == {"exec_id": exec_id, "exec_url": first.json()["data"]["exec_url"],
                                     "status": "succeeded"}
    assert Execution.objects.count() == 1


@pytest.mark.django_db
def test_rate_limit_per_agent_per_minute(settings, agent, secret, make_agent, owner):
    settings.AGENTRY_WEBHOOK_RATE_PER_MINUTE = 2
    other = make_agent(owner, name="Other Hook", pipeline=THREE_NODES)
    other_secret = webhook_rotate(agent=other, actor=Actor(user=owner)).secret
    assert hook(agent.pk, secret, {"message": "1"}, HTTP_IDEMPOTENCY_KEY="k1").status_code == 202
    assert hook(agent.pk, secret, {"message": "2"}).status_code == 202

    limited = hook(agent.pk, secret, {"message": "3"})

    body = problem(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "2 webhook runs a minute" in body["detail"]
    assert Execution.objects.filter(agent=agent).count() == 2
    # Other agents have their own budget; a replay is not a new run.
    assert hook(other.pk, other_secret, {"message": "x"}).status_code == 202
    Execution.objects.filter(agent=agent).update(status="succeeded")
    assert hook(agent.pk, secret, {"message": "1"}, HTTP_IDEMPOTENCY_KEY="k1").status_code == 202
    # Runs older than a minute no longer count.
    Execution.objects.filter(agent=agent).update(created_at=timezone.now() - timedelta(seconds=61))
    assert hook(agent.pk, secret, {"message": "4"}).status_code == 202


@pytest.mark.django_db
def test_other_triggers_do_not_count_against_the_webhook_rate(settings, api, owner, agent, secret):
    settings.AGENTRY_WEBHOOK_RATE_PER_MINUTE = 1
    api(owner).post(f"/api/v1/agents/{agent.slug}/run", {"prompt": "direct"}, format="json")

    assert hook(agent.pk, secret, {"message": "hook"}).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_webhook_run_completes_in_a_worker(make_user, make_agent, llm, celery_worker):
    owner = make_user("hook-owner")
    agent = make_agent(owner, name="Worker Hook", pipeline=THREE_NODES)
    secret = webhook_rotate(agent=agent, actor=Actor(user=owner)).secret

    exec_id = hook(agent.slug, secret, {"message": "pushed"}).json()["data"]["exec_id"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        execution = Execution.objects.get(pk=exec_id)
        if execution.status == "succeeded":
            break
        time.sleep(0.1)
    assert execution.status == "succeeded" and execution.trigger == "webhook"
    assert execution.output == "echo: pushed" and execution.worker == celery_worker.hostname
    assert Agent.objects.get(pk=agent.pk).webhook_secret_hash  # still enabled


@pytest.mark.django_db
def test_a_long_idempotency_key_still_fits(agent, secret):
    key = "k" * 255

    first = hook(agent.pk, secret, {"message": "long"}, HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == 202
    stored = Execution.objects.get().idempotency_key
    assert len(stored) <= 255 and stored.startswith("webhook:")
    problem(hook(agent.pk, secret, {"message": "long"}, HTTP_IDEMPOTENCY_KEY=key), 409, "idempotency_conflict")
