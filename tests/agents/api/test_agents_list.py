"""Listing agents: filters, sorting, offset and cursor pagination, and a
query count that does not grow with the page (API.md §1, §3)."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import selectors
from agents.models import Agent
from tests.conftest import META_KEYS, problem


def _names(response):
    return [a["name"] for a in response.json()["data"]]


@pytest.fixture
def many(user, make_agent):
    """25 agents named a00…a24, created one second apart (a24 newest)."""
    base = timezone.now() - timedelta(hours=1)
    agents = []
    for i in range(25):
        agent = make_agent(user, name=f"a{i:02d}")
        Agent.objects.filter(pk=agent.pk).update(created_at=base + timedelta(seconds=i))
        agents.append(agent)
    return agents


@pytest.mark.django_db
class TestOffset:
    def test_default_page_and_meta(self, api, user, many):
        body = api(user).get("/api/v1/agents").json()
        assert set(body) == {"data", "meta"}
        assert set(body["meta"]) == META_KEYS
        assert body["meta"]["total"] == 25 and body["meta"]["limit"] == 50 and body["meta"]["offset"] == 0
        assert body["meta"]["has_more"] is False and body["meta"]["next_cursor"] is None
        assert [a["name"] for a in body["data"]][:2] == ["a24", "a23"]  # default -created_at

    def test_limit_and_offset(self, api, user, many):
        body = api(user).get("/api/v1/agents", {"limit": 10, "offset": 20}).json()
        assert [a["name"] for a in body["data"]] == [f"a{i:02d}" for i in range(4, -1, -1)]
        assert body["meta"]["has_more"] is False and body["meta"]["prev_cursor"] is not None

    def test_offset_page_carries_next_cursor(self, api, user, many):
        client = api(user)
        first = client.get("/api/v1/agents", {"limit": 10}).json()
        assert first["meta"]["has_more"] is True
        second = client.get("/api/v1/agents", {"limit": 10, "cursor": first["meta"]["next_cursor"]}).json()
        assert [a["name"] for a in second["data"]] == [f"a{i:02d}" for i in range(14, 4, -1)]

    @pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"limit": "ten"}, {"offset": -1},
                                        {"offset": 9223372036854775808}, {"offset": 1_000_000_001},
                                        {"sort": "owner"}, {"status": "sleeping"}])
    def test_bad_parameters_are_400(self, api, user, params):
        body = problem(api(user).get("/api/v1/agents", params), 400, "validation_error")
        assert set(body["errors"]) == set(params)

    @pytest.mark.parametrize(("params", "code"), [({"tag": "x", "limit": 0}, "validation_error"),
                                                  ({"tag": "x", "sort": "owner"}, "validation_error"),
                                                  ({"q": "a", "cursor": "not-a-cursor"}, "invalid_cursor")])
    def test_bad_parameters_of_a_filtered_list_are_400(self, api, user, many, params, code):
        """The filtered pages take their own path (agents.sql.agents_represented): the same problems."""
        problem(api(user).get("/api/v1/agents", params), 400, code)

    def test_limit_500_is_allowed(self, api, user, many):
        assert api(user).get("/api/v1/agents", {"limit": 500}).status_code == 200


@pytest.mark.django_db
class TestCursor:
    def _walk(self, client, params, on_page=None):
        seen, cursor, pages = [], "", 0
        while True:
            response = client.get("/api/v1/agents", {**params, "cursor": cursor})
            assert response.status_code == 200, response.content
            body = response.json()
            seen += [a["id"] for a in body["data"]]
            pages += 1
            if on_page:
                on_page(pages)
            cursor = body["meta"]["next_cursor"]
            if cursor is None:
                assert body["meta"]["has_more"] is False
                return seen

    def test_visits_every_row_once_while_rows_are_inserted(self, api, user, make_agent, many):
        original = {str(a.pk) for a in many}
        inserted = []

        def insert(page):
            inserted.append(make_agent(user, name=f"new{page}"))  # newest: sorts before the cursor

        seen = self._walk(api(user), {"limit": 4}, on_page=insert)
        assert len(seen) == len(set(seen)), "a row was repeated"
        assert original <= set(seen)
        assert not {str(a.pk) for a in inserted} & set(seen)

    def test_name_sort_with_inserts_on_both_sides_of_the_cursor(self, api, user, make_agent, many):
        original = {str(a.pk) for a in many}

        def insert(page):
            make_agent(user, name=f"a00-{page}")  # sorts before the cursor
            make_agent(user, name=f"z{page}")  # sorts after it

        seen = self._walk(api(user), {"limit": 5, "sort": "name"}, on_page=insert)
        assert len(seen) == len(set(seen))
        assert original <= set(seen)

    def test_ties_in_sort_key_are_broken_by_id(self, api, user, make_agent):
        same = timezone.now()
        ids = set()
        for i in range(12):
            agent = make_agent(user, name=f"tie{i}")
            ids.add(str(agent.pk))
        Agent.objects.update(created_at=same, updated_at=same)
        for sort in ("-created_at", "created_at", "updated_at"):
            seen = self._walk(api(user), {"limit": 5, "sort": sort})
            assert sorted(seen) == sorted(ids), sort

    def test_prev_cursor_walks_back(self, api, user, many):
        client = api(user)
        first = client.get("/api/v1/agents", {"limit": 10, "sort": "name"}).json()
        second = client.get("/api/v1/agents", {"limit": 10, "sort": "name",
                                               "cursor": first["meta"]["next_cursor"]}).json()
        back = client.get("/api/v1/agents", {"limit": 10, "sort": "name",
                                             "cursor": second["meta"]["prev_cursor"]}).json()
        assert back["data"] == first["data"]
        assert back["meta"]["prev_cursor"] is None
        assert back["meta"]["next_cursor"] is not None

    @pytest.mark.parametrize("cursor", ["garbage", "e30", "eyJzIjoiLWNyZWF0ZWRfYXQiLCJkIjoibiJ9", "%%%"])
    def test_malformed_cursor_is_400_invalid_cursor(self, api, user, many, cursor):
        problem(api(user).get("/api/v1/agents", {"cursor": cursor}), 400, "invalid_cursor")

    def test_crafted_cursor_with_a_far_offset_pages_from_its_utc_instant(self, api, user, many):
        payload = {"s": "-created_at", "d": "n", "v": "2999-01-01T00:00:00+19:56", "id": str(uuid.uuid4())}
        cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        response = api(user).get("/api/v1/agents", {"cursor": cursor})
        assert response.status_code == 200 and len(response.json()["data"]) == len(many)

    def test_cursor_from_another_sort_is_400(self, api, user, many):
        client = api(user)
        cursor = client.get("/api/v1/agents", {"limit": 5}).json()["meta"]["next_cursor"]
        problem(client.get("/api/v1/agents", {"cursor": cursor, "sort": "name"}), 400, "invalid_cursor")

    def test_empty_cursor_starts_at_first_page(self, api, user, many):
        client = api(user)
        assert client.get("/api/v1/agents", {"cursor": ""}).json() == client.get("/api/v1/agents").json()


@pytest.mark.django_db
class TestFiltersAndSort:
    def test_filters(self, api, user, make_agent):
        make_agent(user, name="Support Bot", slug="support-bot", tags=["support"])
        make_agent(user, name="Sales Helper", slug="sales", tags=["sales"], status="paused")
        make_agent(user, name="Other", slug="other-support", tags=["support", "x"])
        Agent.objects.filter(slug="sales").update(runtime_state="running")
        client = api(user)
        assert sorted(_names(client.get("/api/v1/agents", {"q": "SUPPORT"}))) == ["Other", "Support Bot"]
        assert _names(client.get("/api/v1/agents", {"slug_prefix": "sup"})) == ["Support Bot"]
        assert _names(client.get("/api/v1/agents", {"status": "paused"})) == ["Sales Helper"]
        assert _names(client.get("/api/v1/agents", {"runtime_state": "running"})) == ["Sales Helper"]
        assert sorted(_names(client.get("/api/v1/agents", {"tag": "support"}))) == ["Other", "Support Bot"]
        assert client.get("/api/v1/agents", {"tag": "support"}).json()["meta"]["total"] == 2

    def test_only_visible_agents_are_listed(self, api, user, make_user, make_agent, add_member):
        other = make_user()
        make_agent(other, name="Hidden")
        shared = make_agent(other, name="Shared")
        add_member(shared, user, "viewer")
        make_agent(user, name="Mine")
        body = api(user).get("/api/v1/agents", {"sort": "name"}).json()
        assert [(a["name"], a["role"]) for a in body["data"]] == [("Mine", "owner"), ("Shared", "viewer")]
        assert body["meta"]["total"] == 2

    @pytest.mark.parametrize("sort,expected", [("name", ["a", "b", "c"]), ("-name", ["c", "b", "a"]),
                                               ("updated_at", ["b", "c", "a"]), ("-last_activity", ["a", "c", "b"])])
    def test_sort(self, api, user, make_agent, sort, expected):
        now = timezone.now()
        for i, name in enumerate(["b", "c", "a"]):
            agent = make_agent(user, name=name)
            Agent.objects.filter(pk=agent.pk).update(updated_at=now + timedelta(seconds=i),
                                                     last_activity=now + timedelta(seconds=i))
        assert _names(api(user).get("/api/v1/agents", {"sort": sort})) == expected


@pytest.mark.django_db
class TestQueryCounts:
    def _count(self, client, params):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/agents", params).status_code == 200
        return len(ctx.captured_queries)

    def test_agent_list_queries_do_not_grow_with_page_size(self, api, user, make_user, make_agent, add_member):
        other = make_user()
        for i in range(60):
            agent = make_agent(other if i % 2 else user, name=f"agent {i}", tags=["x", "y"])
            if i % 2:
                add_member(agent, user, "operator")
        client = api(user)
        client.get("/api/v1/agents")  # the token's first use writes last_used_at once
        small, large = self._count(client, {"limit": 2}), self._count(client, {"limit": 60})
        cursor = client.get("/api/v1/agents", {"limit": 5}).json()["meta"]["next_cursor"]
        deep = self._count(client, {"limit": 60, "cursor": cursor})
        assert small == large == deep
        assert large == 3  # token, count, page (owners and tags come with the page)
        filtered = [self._count(client, {"tag": "x", "limit": limit}) for limit in (2, 60)]
        assert filtered == [4, 4]  # token, the caller's agents, count, page

    @pytest.mark.parametrize(("params", "total"), [
        ({}, 8), ({"sort": "-created_at", "limit": 3}, 8), ({"tag": "x"}, 4),
        ({"tag": "x", "sort": "name", "limit": 2}, 4), ({"q": "agent 1"}, 2)])
    def test_a_list_read_from_the_callers_memberships_is_the_list_walked(self, api, user, make_user, make_agent,
                                                                          add_member, monkeypatch, params, total):
        """The lists of a caller who sees few agents start from their
        memberships (agents.selectors.PAGE_FROM_MEMBERSHIPS); with the
        thresholds at zero every list walks the agents: the same answer."""
        other = make_user()
        for i in range(12):
            agent = make_agent(other if i % 3 else user, name=f"agent {i}", tags=["x"] if i % 2 else [])
            if i % 3 == 1:
                add_member(agent, user, "viewer")
        client = api(user)
        first = client.get("/api/v1/agents", params).json()
        cursor = first["meta"]["next_cursor"]
        second = client.get("/api/v1/agents", {**params, "cursor": cursor}).json() if cursor else None
        assert first["meta"]["total"] == total
        monkeypatch.setattr(selectors, "PAGE_FROM_MEMBERSHIPS", -1)
        monkeypatch.setattr(selectors, "COUNT_FROM_MEMBERSHIPS", -1)
        assert client.get("/api/v1/agents", params).json() == first
        if cursor:
            assert client.get("/api/v1/agents", {**params, "cursor": cursor}).json() == second

    def test_unfiltered_total_is_the_callers_kept_member_count_and_stays_exact(self, api, user, make_user,
                                                                               make_agent, add_member):
        # given agents the caller owns, is a member of, and others it cannot see
        other = make_user()
        for i in range(4):
            make_agent(user, name=f"mine {i}", tags=["t"] if i % 2 else [])
        add_member(make_agent(other, name="shared"), user, "viewer")
        make_agent(other, name="hidden")
        client = api(user)
        client.get("/api/v1/agents")

        # when the list is read without a filter
        with CaptureQueriesContext(connection) as ctx:
            total = client.get("/api/v1/agents").json()["meta"]["total"]

        # then its total is the caller's member count, one row read, no rows counted
        assert not [q["sql"] for q in ctx.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
        [count_sql] = [q["sql"] for q in ctx.captured_queries if '"agents_agentmembercount"' in q["sql"]]
        assert '"agents_agent".' not in count_sql
        # and both it and a filtered total are exact
        tagged = client.get("/api/v1/agents", {"tag": "t"}).json()["meta"]["total"]
        assert total == 5 and tagged == 2

    def test_staff_total_counts_every_agent(self, api, make_user, make_agent):
        staff = make_user("root", is_staff=True)
        for i in range(3):
            make_agent(make_user(), name=f"agent {i}")
        assert api(staff).get("/api/v1/agents").json()["meta"]["total"] == 3

    def test_member_and_audit_lists_are_bounded(self, api, user, make_user, make_agent, add_member,
                                                django_assert_max_num_queries):
        agent = make_agent(user)
        for i in range(30):
            add_member(agent, make_user(), "viewer")
            api(user).patch(f"/api/v1/agents/{agent.pk}", {"description": f"v{i}"})
        client = api(user)
        client.get("/api/v1/auth/me")
        with django_assert_max_num_queries(5):
            assert len(client.get(f"/api/v1/agents/{agent.pk}/admins", {"limit": 100}).json()["data"]) == 31
        with django_assert_max_num_queries(5):
            assert len(client.get(f"/api/v1/agents/{agent.pk}/audit-log", {"limit": 100}).json()["data"]) == 31


@pytest.mark.django_db
def test_name_sort_ignores_case_on_every_database(api, user, make_agent):
    for name in ("beta", "Alpha", "gamma", "Delta"):
        make_agent(user, name=name)
    client = api(user)
    assert _names(client.get("/api/v1/agents", {"sort": "name"})) == ["Alpha", "beta", "Delta", "gamma"]
    first = client.get("/api/v1/agents", {"sort": "name", "limit": 2}).json()
    rest = client.get("/api/v1/agents", {"sort": "name", "limit": 2, "cursor": first["meta"]["next_cursor"]})
    assert _names(rest) == ["Delta", "gamma"]
    renamed = client.get("/api/v1/agents", {"sort": "name"}).json()["data"][0]["id"]
    client.patch(f"/api/v1/agents/{renamed}", {"name": "zeta"})
    assert _names(client.get("/api/v1/agents", {"sort": "-name"}))[0] == "zeta"
