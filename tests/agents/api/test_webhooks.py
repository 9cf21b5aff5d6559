"""Webhooks: managing the secret URL (admins), and the public trigger that
queues a run with ``trigger=webhook``."""

import hashlib
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actor import Actor
from agents.models import Agent, AuditLogEntry
from agents.services import agent_set_status
from agents.services.webhooks import webhook_rotate
from core import crypto
from executions.models import Execution
from tests.conftest import problem
from tests.executions.conftest import THREE_NODES


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Hook Bot", slug="hook-bot", pipeline=THREE_NODES)


@pytest.fixture
def secret(agent, owner):
    return webhook_rotate(agent=agent, actor=Actor(user=owner)).secret


def hook(agent_ref, secret, body=None, **extra):
    """POST to the public trigger with no credentials."""
    return APIClient().post(f"/api/v1/hooks/{agent_ref}/{secret}", body if body is not None else {},
                            format="json", **extra)


# --- managing the webhook ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_webhook_is_disabled_until_rotated(api, owner, agent):
    response = api(owner).get(f"/api/v1/agents/{agent.slug}/webhook")

    assert response.status_code == 200
    assert response.json() == {"data": {"url": None, "secret": None, "enabled": False}}


@pytest.mark.django_db
def test_rotate_creates_the_secret_and_get_shows_the_url(api, owner, agent):
    client = api(owner)

    rotated = client.post(f"/api/v1/agents/{agent.slug}/webhook/rotate")

    assert rotated.status_code == 200, rotated.content
    data = rotated.json()["data"]
    secret = data["secret"]
    assert len(secret) >= 43 and data["enabled"] is True
    assert data["url"] == f"http://testserver/api/v1/hooks/{agent.pk}/{secret}"
    assert client.get(f"/api/v1/agents/{agent.pk}/webhook").json()["data"] == data
    agent.refresh_from_db()
    assert agent.webhook_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in agent.webhook_secret_ciphertext
    assert crypto.decrypt(agent.webhook_secret_ciphertext) == secret
    entry = AuditLogEntry.objects.get(agent=agent, action="webhook.rotated")
    assert entry.actor == owner
    assert entry.changes["webhook.enabled"] == {"old": False, "new": True}
    assert secret not in json.dumps(entry.changes) and agent.webhook_secret_hash not in json.dumps(entry.changes)


@pytest.mark.django_db
def test_rotate_again_replaces_the_secret_and_the_old_url_stops_working(api, owner, agent, secret):
    new = api(owner).post(f"/api/v1/agents/{agent.slug}/webhook/rotate").json()["data"]["secret"]

    assert new != secret
    problem(hook(agent.pk, secret, {"message": "old"}), 404, "not_found")
    assert hook(agent.pk, new, {"message": "new"}).status_code == 202
    rotations = AuditLogEntry.objects.filter(agent=agent, action="webhook.rotated").order_by("created_at")
    assert [e.changes["webhook.enabled"]["old"] for e in rotations] == [False, True]


@pytest.mark.django_db
def test_delete_disables_the_webhook(api, owner, agent, secret):
    client = api(owner)

    response = client.delete(f"/api/v1/agents/{agent.slug}/webhook")

    assert response.status_code == 204 and response.content == b""
    agent.refresh_from_db()
    assert agent.webhook_secret_hash == "" and agent.webhook_secret_ciphertext == ""
    assert client.get(f"/api/v1/agents/{agent.slug}/webhook").json()["data"]["enabled"] is False
    entry = AuditLogEntry.objects.get(agent=agent, action="agent.updated")
    assert entry.changes == {"webhook.enabled": {"old": True, "new": False}}
    problem(hook(agent.pk, secret, {"message": "hi"}), 404, "not_found")
    problem(client.delete(f"/api/v1/agents/{agent.slug}/webhook"), 404, "not_found")


ROLES = ["viewer", "operator", "admin", "owner"]
RANK = {role: i for i, role in enumerate(ROLES)}
ENDPOINTS = [  # (name, method, path, least role, scope, success)
    ("get", "get", "webhook", "admin", "agents:write", 200),
    ("rotate", "post", "webhook/rotate", "admin", "agents:write", 200),
    ("delete", "delete", "webhook", "admin", "agents:write", 204),
]


@pytest.fixture
def members(make_user, add_member, owner, agent, secret):
    users = {"owner": owner}
    for role in ("viewer", "operator", "admin"):
        users[role] = make_user(role)
        add_member(agent, users[role], role)
    users["stranger"] = make_user("stranger")
    return users


def _unchanged(agent, secret):
    agent.refresh_from_db()
    assert agent.webhook_secret_hash == hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_role_matrix(api, agent, secret, members, endpoint, role):
    _name, method, path, least, _scope, success = endpoint

    response = getattr(api(members[role]), method)(f"/api/v1/agents/{agent.slug}/{path}")

    if RANK[role] >= RANK[least]:
        assert response.status_code == success, response.content
    else:
        body = problem(response, 403, "permission_denied")
        assert secret not in json.dumps(body)
        _unchanged(agent, secret)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_non_member_gets_404(api, agent, secret, members, endpoint):
    _name, method, path, *_ = endpoint
    for ref in (agent.slug, str(agent.pk)):
        response = getattr(api(members["stranger"]), method)(f"/api/v1/agents/{ref}/{path}")
        assert problem(response, 404, "not_found")["detail"] == "Agent not found."
    _unchanged(agent, secret)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_owner_token_without_agents_write_gets_403(api, agent, secret, members, endpoint):
    # Reading the URL needs agents:write too: the URL itself runs the agent.
    _name, method, path, *_ = endpoint

    response = getattr(api(members["owner"], scopes=["agents:read", "agents:run"]), method)(
        f"/api/v1/agents/{agent.slug}/{path}")

    assert "agents:write" in problem(response, 403, "permission_denied")["detail"]
    _unchanged(agent, secret)


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
