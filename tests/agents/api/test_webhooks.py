"""Webhooks: managing the secret URL (admins).  The public trigger the URL
points at is tested in tests/executions/api/test_webhooks.py."""

import hashlib
import json

import pytest
from rest_framework.test import APIClient

from accounts.actor import Actor
from agents.models import AuditLogEntry
from agents.services.webhooks import webhook_rotate
from core import crypto
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
