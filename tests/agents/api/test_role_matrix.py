"""Every agent endpoint against every role, a non-member and a token whose
scope is too narrow (API.md §2).  One row per (endpoint, least role, scope)."""

import pytest

from agents.models import Agent
from tests.conftest import problem

ROLES = ["viewer", "operator", "admin", "owner"]
RANK = {role: i for i, role in enumerate(ROLES)}

# (name, method, path template, body, least role, scope needed, success status)
ENDPOINTS = [
    ("retrieve", "get", "/api/v1/agents/{agent}", None, "viewer", "agents:read", 200),
    ("members", "get", "/api/v1/agents/{agent}/admins", None, "viewer", "agents:read", 200),
    ("audit-log", "get", "/api/v1/agents/{agent}/audit-log", None, "viewer", "agents:read", 200),
    ("patch", "patch", "/api/v1/agents/{agent}", {"description": "changed"}, "admin", "agents:write", 200),
    ("activate", "post", "/api/v1/agents/{agent}/activate", None, "admin", "agents:write", 200),
    ("deactivate", "post", "/api/v1/agents/{agent}/deactivate", None, "admin", "agents:write", 200),
    ("duplicate", "post", "/api/v1/agents/{agent}/duplicate", {"name": "Copy"}, "admin", "agents:write", 201),
    ("add-viewer", "post", "/api/v1/agents/{agent}/admins", {"email": "new@example.com", "role": "viewer"},
     "admin", "agents:write", 201),
    ("add-admin", "post", "/api/v1/agents/{agent}/admins", {"email": "new@example.com", "role": "admin"},
     "owner", "agents:write", 201),
    ("transfer", "post", "/api/v1/agents/{agent}/transfer", {"email": "new@example.com"},
     "owner", "agents:write", 200),
    ("delete", "delete", "/api/v1/agents/{agent}", None, "owner", "agents:write", 204),
]


@pytest.fixture
def setup(make_user, make_agent, add_member):
    owner = make_user("owner")
    make_user("newcomer", email="new@example.com")
    agent = make_agent(owner, name="Target", slug="target")
    users = {"owner": owner}
    for role in ("viewer", "operator", "admin"):
        users[role] = make_user(role)
        add_member(agent, users[role], role)
    users["stranger"] = make_user("stranger")
    return agent, users


def _call(client, method, path, body):
    return getattr(client, method)(path, body) if body is not None else getattr(client, method)(path)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_role_matrix(api, setup, endpoint, role):
    name, method, template, body, least, _scope, success = endpoint
    agent, users = setup
    response = _call(api(users[role]), method, template.format(agent=agent.slug), body)
    if RANK[role] >= RANK[least]:
        assert response.status_code == success, response.content
    else:
        problem(response, 403, "permission_denied")
        assert Agent.objects.filter(pk=agent.pk, description="", status="active").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_non_member_gets_404_and_no_hint(api, setup, endpoint):
    _name, method, template, body, *_ = endpoint
    agent, users = setup
    for ref in (agent.slug, str(agent.pk)):
        body_ = problem(_call(api(users["stranger"]), method, template.format(agent=ref), body), 404, "not_found")
        assert body_["detail"] == "Agent not found."
    assert Agent.objects.filter(pk=agent.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_owner_token_without_the_scope_gets_403(api, setup, endpoint):
    _name, method, template, body, _least, scope, _success = endpoint
    agent, users = setup
    other_scopes = [s for s in ("agents:read", "agents:write", "agents:run") if s != scope]
    response = _call(api(users["owner"], scopes=other_scopes), method, template.format(agent=agent.slug), body)
    body_ = problem(response, 403, "permission_denied")
    assert scope in body_["detail"]


@pytest.mark.django_db
def test_staff_acts_as_owner_everywhere(api, setup, make_user):
    agent, _users = setup
    staff = make_user("root", is_staff=True)
    client = api(staff)
    assert client.get(f"/api/v1/agents/{agent.slug}").json()["data"]["role"] == "owner"
    assert client.delete(f"/api/v1/agents/{agent.slug}").status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["bearer", "token", "x-api-key"])
def test_anonymous_and_bad_tokens_get_401_everywhere(api, setup, form):
    agent, _users = setup
    for name, method, template, body, *_ in ENDPOINTS:
        path = template.format(agent=agent.slug)
        problem(_call(api(), method, path, body), 401, "not_authenticated")
        client = api()
        if form == "x-api-key":
            client.credentials(HTTP_X_API_KEY="agt_wrong")
        else:
            client.credentials(HTTP_AUTHORIZATION=f"{'Token' if form == 'token' else 'Bearer'} agt_wrong")
        problem(_call(client, method, path, body), 401, "not_authenticated")


UNSCOPED = [
    ("get", "/api/v1/agents", None),
    ("post", "/api/v1/agents", {"name": "x"}),
    ("get", "/api/v1/agents/check-name?name=x", None),
    ("put", "/api/v1/agents/new-one", {"name": "x"}),
    ("get", "/api/v1/auth/agents", None),
    ("get", "/api/v1/auth/tokens", None),
    ("post", "/api/v1/auth/tokens", {"name": "x", "scopes": ["agents:read"]}),
    ("get", "/api/v1/auth/me", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["none", "bearer", "token", "x-api-key"])
@pytest.mark.parametrize("method,path,body", UNSCOPED, ids=[f"{m} {p}" for m, p, _ in UNSCOPED])
def test_endpoints_outside_one_agent_need_credentials(api, form, method, path, body):
    client = api()
    if form == "x-api-key":
        client.credentials(HTTP_X_API_KEY="agt_wrong")
    elif form != "none":
        client.credentials(HTTP_AUTHORIZATION=f"{'Token' if form == 'token' else 'Bearer'} agt_wrong")
    problem(_call(client, method, path, body), 401, "not_authenticated")
    assert not Agent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method,path,body,scope", [
    ("get", "/api/v1/agents", None, "agents:read"),
    ("post", "/api/v1/agents", {"name": "x"}, "agents:write"),
    ("get", "/api/v1/agents/check-name?name=x", None, "agents:read"),
    ("put", "/api/v1/agents/new-one", {"name": "x"}, "agents:write"),
    ("get", "/api/v1/auth/agents", None, "agents:read"),
])
def test_endpoints_outside_one_agent_need_their_scope(api, user, method, path, body, scope):
    others = [s for s in ("agents:read", "agents:write", "agents:run") if s != scope]
    body_ = problem(_call(api(user, scopes=others), method, path, body), 403, "permission_denied")
    assert scope in body_["detail"]
    assert not Agent.objects.exists()
