"""``GET /api/v1/auth/agents``: the agents the caller can access, with their role (API.md §2)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import problem, session

MY_AGENTS = "/api/v1/auth/agents"


@pytest.mark.django_db
class TestMyAgents:
    def test_lists_only_agents_the_caller_is_a_member_of_with_role(
            self, api, user, make_user, make_agent, add_member):
        # given alice owns one agent and holds each other role on three more
        other = make_user("bob")
        owned = make_agent(user, name="A owned")
        as_admin = make_agent(other, name="B admin")
        as_operator = make_agent(other, name="C operator")
        as_viewer = make_agent(other, name="D viewer")
        make_agent(other, name="E hidden")
        add_member(as_admin, user, "admin")
        add_member(as_operator, user, "operator")
        add_member(as_viewer, user, "viewer")
        # when
        response = api(user).get(MY_AGENTS)
        # then
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"data", "meta"}
        assert body["data"] == [
            {"id": str(a.pk), "slug": a.slug, "name": a.name, "role": role}
            for a, role in [(owned, "owner"), (as_admin, "admin"), (as_operator, "operator"),
                            (as_viewer, "viewer")]
        ]
        assert body["meta"] == {"total": 4, "limit": 50, "offset": 0, "has_more": False,
                                "next_cursor": None, "prev_cursor": None}

    def test_item_keys_are_exact(self, api, user, make_agent):
        make_agent(user)
        [item] = api(user).get(MY_AGENTS).json()["data"]
        assert set(item) == {"id", "slug", "name", "role"}

    def test_no_memberships_is_empty(self, api, user, make_user, make_agent):
        make_agent(make_user())
        body = api(user).get(MY_AGENTS).json()
        assert body["data"] == [] and body["meta"]["total"] == 0

    def test_staff_sees_every_agent_as_owner(self, api, make_user, make_agent, add_member):
        staff = make_user("root", is_staff=True)
        a = make_agent(make_user(), name="One")
        b = make_agent(make_user(), name="Two")
        add_member(b, staff, "viewer")  # staff acts as owner even where a member row says less
        data = api(staff).get(MY_AGENTS).json()["data"]
        assert data == [{"id": str(a.pk), "slug": a.slug, "name": "One", "role": "owner"},
                        {"id": str(b.pk), "slug": b.slug, "name": "Two", "role": "owner"}]

    def test_removed_member_no_longer_sees_agent(self, api, user, make_user, make_agent, add_member):
        agent = make_agent(make_user())
        membership = add_member(agent, user, "viewer")
        client = api(user)
        assert len(client.get(MY_AGENTS).json()["data"]) == 1
        membership.delete()
        assert client.get(MY_AGENTS).json()["data"] == []

    def test_sort_and_pagination(self, api, user, make_agent):
        for name in ["Charlie", "Alpha", "Bravo"]:
            make_agent(user, name=name)
        client = api(user)
        first = client.get(MY_AGENTS, {"limit": 2}).json()
        assert [a["name"] for a in first["data"]] == ["Alpha", "Bravo"]
        assert first["meta"]["has_more"] is True and first["meta"]["next_cursor"]
        second = client.get(MY_AGENTS, {"limit": 2, "cursor": first["meta"]["next_cursor"]}).json()
        assert [a["name"] for a in second["data"]] == ["Charlie"]
        assert second["meta"]["next_cursor"] is None and second["meta"]["prev_cursor"]
        descending = client.get(MY_AGENTS, {"sort": "-name"}).json()
        assert [a["name"] for a in descending["data"]] == ["Charlie", "Bravo", "Alpha"]

    def test_unknown_sort_is_400(self, api, user):
        body = problem(api(user).get(MY_AGENTS, {"sort": "role"}), 400, "validation_error")
        assert "sort" in body["errors"]

    def test_needs_read_scope(self, api, user, make_agent):
        make_agent(user)
        problem(api(user, ["agents:write", "agents:run"]).get(MY_AGENTS), 403, "permission_denied")

    def test_read_scope_is_enough(self, api, user, make_agent):
        make_agent(user)
        assert api(user, ["agents:read"]).get(MY_AGENTS).status_code == 200

    def test_session_caller(self, user, make_agent):
        make_agent(user, name="Mine")
        assert session(user).get(MY_AGENTS).json()["data"][0]["role"] == "owner"

    def test_anonymous_is_401(self, api):
        problem(api().get(MY_AGENTS), 401, "not_authenticated")


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx), len(response.json()["data"])


@pytest.mark.django_db
class TestMyAgentsQueryCount:
    @pytest.mark.parametrize("staff", [False, True])
    def test_query_count_does_not_grow_with_agents(self, api, make_user, make_agent, add_member, staff):
        # given a caller who is a member (with mixed roles) of 3, then 30 agents
        caller = make_user("caller", is_staff=staff)
        others = [make_user() for _ in range(3)]
        roles = ["admin", "operator", "viewer"]

        def add_agents(n):
            for i in range(n):
                agent = make_agent(others[i % 3])
                add_member(agent, caller, roles[i % 3])

        client = api(caller)
        client.get(MY_AGENTS)  # warm up: the first use of the token writes last_used_at
        add_agents(3)
        few, n_few = _count_queries(client, MY_AGENTS)
        add_agents(27)
        many, n_many = _count_queries(client, MY_AGENTS)
        # then
        assert (n_few, n_many) == (3, 30)
        assert many == few

    def test_max_queries(self, api, user, make_user, make_agent, add_member, django_assert_num_queries):
        owner = make_user()
        for _ in range(20):
            add_member(make_agent(owner), user, "viewer")
        client = api(user)
        client.get(MY_AGENTS)
        with django_assert_num_queries(3):  # auth, count (memberships), page
            response = client.get(MY_AGENTS)
        assert len(response.json()["data"]) == 20
