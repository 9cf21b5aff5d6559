"""One role-and-scope matrix for an agent's sub-resources (API.md §2).

A test module lists its endpoints and subclasses ``RoleMatrix`` as
``TestRoles``: every endpoint is then called by each role (the least role
succeeds, lower ones get 403 and change nothing), by a non-member (404 by
slug and by id, nothing changed) and by the owner with a token lacking the
endpoint's scope (403 naming the scope).  The subclass says how to create
the existing object (``existing``), how to call an endpoint (``target_url``,
``body``) and what "nothing changed" means (``state``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import pytest

from tests.conftest import problem

ROLES = ["viewer", "operator", "admin", "owner"]
RANK = {role: i for i, role in enumerate(ROLES)}
SCOPES = ("agents:read", "agents:write", "agents:run")


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str            # formatted with the existing object as ``{target}``
    body: dict | None
    role: str            # the least role that succeeds
    scope: str
    status: int          # the success status


class RoleMatrix(ABC):
    endpoints: list[Endpoint] = []
    collection = ""      # the path under /agents/{agent}/ that ``path`` is relative to

    def pytest_generate_tests(self, metafunc):
        if "endpoint" in metafunc.fixturenames:
            metafunc.parametrize("endpoint", self.endpoints, ids=[e.name for e in self.endpoints])
        if "role" in metafunc.fixturenames:
            metafunc.parametrize("role", ROLES)

    # --- what a module says about its resource ---------------------------------------------------
    @abstractmethod
    def existing(self, agent, owner):
        """Create what the endpoints act on; return it (``{target}`` in paths)."""

    @abstractmethod
    def state(self, agent):
        """What must be the same after a refused call."""

    def body(self, endpoint: Endpoint, user) -> dict | None:
        return endpoint.body

    # --- the matrix --------------------------------------------------------------------------------
    @pytest.fixture
    def members(self, make_user, add_member, owner, agent):
        users = {"owner": owner}
        for role in ("viewer", "operator", "admin"):
            users[role] = make_user(role)
            add_member(agent, users[role], role)
        users["stranger"] = make_user("stranger")
        return users, self.existing(agent, owner)

    def call(self, client, endpoint: Endpoint, agent_ref: str, target, user):
        url = f"/api/v1/agents/{agent_ref}/{self.collection}" + endpoint.path.format(target=target.pk)
        body = self.body(endpoint, user)
        send = getattr(client, endpoint.method)
        return send(url) if body is None else send(url, body, format="json")

    @pytest.mark.django_db
    def test_role_matrix(self, api, agent, members, endpoint, role):
        users, target = members
        before = self.state(agent)

        response = self.call(api(users[role]), endpoint, agent.slug, target, users[role])

        if RANK[role] >= RANK[endpoint.role]:
            assert response.status_code == endpoint.status, response.content
        else:
            problem(response, 403, "permission_denied")
            assert self.state(agent) == before

    @pytest.mark.django_db
    def test_non_member_gets_404(self, api, agent, members, endpoint):
        users, target = members
        before = self.state(agent)
        for ref in (agent.slug, str(agent.pk)):
            body = problem(self.call(api(users["stranger"]), endpoint, ref, target, users["stranger"]), 404,
                           "not_found")
            assert body["detail"] == "Agent not found."
        assert self.state(agent) == before

    @pytest.mark.django_db
    def test_owner_token_without_the_scope_gets_403(self, api, agent, members, endpoint):
        users, target = members
        before = self.state(agent)
        scopes = [s for s in SCOPES if s != endpoint.scope]

        response = self.call(api(users["owner"], scopes=scopes), endpoint, agent.slug, target, users["owner"])

        assert endpoint.scope in problem(response, 403, "permission_denied")["detail"]
        assert self.state(agent) == before
