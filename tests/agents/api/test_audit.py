"""The audit log records every write with actor, token, IP and diff."""

import pytest

from agents.models import AuditLogEntry


@pytest.mark.django_db
def test_each_write_is_recorded_with_actor_token_ip_and_diff(api, user, make_user):
    client = api(user)
    agent_id = client.post("/api/v1/agents", {"name": "Bot"}, REMOTE_ADDR="203.0.113.9",
                           HTTP_USER_AGENT="curl/8").json()["data"]["id"]
    client.patch(f"/api/v1/agents/{agent_id}", {"name": "Bot 2"})
    client.post(f"/api/v1/agents/{agent_id}/deactivate")
    make_user("bob")
    client.post(f"/api/v1/agents/{agent_id}/admins", {"email": "bob@example.com", "role": "viewer"})

    body = client.get(f"/api/v1/agents/{agent_id}/audit-log").json()

    actions = [e["action"] for e in body["data"]]
    assert actions == ["member.added", "agent.status_changed", "agent.updated", "agent.created"]
    created = body["data"][-1]
    assert set(created) == {"id", "action", "actor", "token_name", "changes", "ip", "user_agent", "created_at"}
    assert created["actor"] == {"id": str(user.pk), "email": user.email}
    assert created["token_name"] == "test"
    assert created["ip"] == "203.0.113.9"
    assert created["user_agent"] == "curl/8"
    assert created["changes"]["name"] == {"old": None, "new": "Bot"}
    assert body["data"][2]["changes"] == {"name": {"old": "Bot", "new": "Bot 2"}}
    assert body["data"][1]["changes"] == {"status": {"old": "active", "new": "paused"}}
    assert body["meta"]["total"] == 4


@pytest.mark.django_db
def test_session_writes_have_no_token_name(user, make_agent):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    agent = make_agent(user)
    assert client.post(f"/api/v1/agents/{agent.pk}/deactivate").status_code == 200
    entry = AuditLogEntry.objects.get(action="agent.status_changed")
    assert entry.token is None and entry.token_name == "" and entry.actor == user


@pytest.mark.django_db
def test_audit_log_is_paginated_with_cursor(api, user, make_agent):
    agent = make_agent(user)
    client = api(user)
    for i in range(7):
        client.patch(f"/api/v1/agents/{agent.pk}", {"description": str(i)})
    first = client.get(f"/api/v1/agents/{agent.pk}/audit-log", {"limit": 5}).json()
    second = client.get(f"/api/v1/agents/{agent.pk}/audit-log",
                        {"limit": 5, "cursor": first["meta"]["next_cursor"]}).json()
    ids = [e["id"] for e in first["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 8
    assert second["meta"]["has_more"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("hops,forwarded,expected", [
    (0, "198.51.100.7", "10.0.0.2"),  # no proxy trusted: the header is the client's claim
    (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # one load balancer appended the real address
    (2, "198.51.100.7, 10.0.0.9", "198.51.100.7"),
    (1, "not-an-ip", None),
])
def test_audit_ip_behind_trusted_proxies(api, user, settings, hops, forwarded, expected):
    settings.AGENTRY_TRUSTED_PROXY_HOPS = hops
    api(user).post("/api/v1/agents", {"name": "Bot"}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert AuditLogEntry.objects.get(action="agent.created").ip == expected
