"""Strong ETags, If-Match (412/428) and PUT create-or-replace (API.md §3)."""

import pytest

from agents.models import Agent, AuditLogEntry
from tests.conftest import problem


@pytest.mark.django_db
class TestEtags:
    def test_etag_changes_with_every_write(self, api, user, make_agent):
        agent = make_agent(user)
        client = api(user)
        first = client.get(f"/api/v1/agents/{agent.pk}")["ETag"]
        assert client.get(f"/api/v1/agents/{agent.pk}")["ETag"] == first
        patched = client.patch(f"/api/v1/agents/{agent.pk}", {"description": "x"})
        assert patched["ETag"] != first
        assert client.get(f"/api/v1/agents/{agent.pk}")["ETag"] == patched["ETag"]

    def test_if_none_match_answers_304_until_the_agent_changes(self, api, user, make_agent):
        agent = make_agent(user)
        client = api(user)
        etag = client.get(f"/api/v1/agents/{agent.pk}")["ETag"]
        cached = client.get(f"/api/v1/agents/{agent.pk}", HTTP_IF_NONE_MATCH=etag)
        assert cached.status_code == 304 and cached.content == b"" and cached["ETag"] == etag
        client.patch(f"/api/v1/agents/{agent.pk}", {"description": "x"})
        assert client.get(f"/api/v1/agents/{agent.pk}", HTTP_IF_NONE_MATCH=etag).status_code == 200

    def test_the_detail_is_two_queries_and_the_patch_answers_the_same_agent(self, api, user, make_agent,
                                                                             django_assert_num_queries):
        agent = make_agent(user, tags=["b", "a"])
        client = api(user)
        patched = client.patch(f"/api/v1/agents/{agent.pk}", {"description": "changed"})
        with django_assert_num_queries(2):  # the token, the agent with its role and representation
            detail = client.get(f"/api/v1/agents/{agent.slug}")
        assert detail.status_code == 200 and detail["ETag"] == patched["ETag"]
        assert detail.json() == patched.json()  # the detail as the database writes it, the patch's by the serializer
        with django_assert_num_queries(2):
            assert client.get(f"/api/v1/agents/{agent.pk}", HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304

    def test_patch_with_matching_if_match_succeeds(self, api, user, make_agent):
        agent = make_agent(user)
        client = api(user)
        etag = client.get(f"/api/v1/agents/{agent.pk}")["ETag"]
        response = client.patch(f"/api/v1/agents/{agent.pk}", {"description": "x"}, HTTP_IF_MATCH=etag)
        assert response.status_code == 200

    def test_patch_with_stale_if_match_is_412_and_changes_nothing(self, api, user, make_agent):
        agent = make_agent(user)
        client = api(user)
        stale = client.get(f"/api/v1/agents/{agent.pk}")["ETag"]
        client.patch(f"/api/v1/agents/{agent.pk}", {"description": "first"})
        problem(client.patch(f"/api/v1/agents/{agent.pk}", {"description": "second"}, HTTP_IF_MATCH=stale),
                412, "precondition_failed")
        agent.refresh_from_db()
        assert agent.description == "first"

    def test_weak_etag_never_matches(self, api, user, make_agent):
        agent = make_agent(user)
        client = api(user)
        etag = client.get(f"/api/v1/agents/{agent.pk}")["ETag"]
        problem(client.patch(f"/api/v1/agents/{agent.pk}", {"description": "x"}, HTTP_IF_MATCH=f"W/{etag}"),
                412, "precondition_failed")

    def test_if_match_star_matches_any_existing_agent(self, api, user, make_agent):
        agent = make_agent(user)
        response = api(user).patch(f"/api/v1/agents/{agent.pk}", {"description": "x"}, HTTP_IF_MATCH="*")
        assert response.status_code == 200

    def test_delete_with_stale_if_match_is_412(self, api, user, make_agent):
        agent = make_agent(user)
        problem(api(user).delete(f"/api/v1/agents/{agent.pk}", HTTP_IF_MATCH='"stale"'), 412, "precondition_failed")
        assert Agent.objects.filter(pk=agent.pk).exists()


@pytest.mark.django_db
class TestPut:
    def test_put_creates_absent_agent_with_path_slug(self, api, user):
        response = api(user).put("/api/v1/agents/new-bot", {"name": "New Bot", "tags": ["a"]})
        assert response.status_code == 201, response.content
        data = response.json()["data"]
        assert data["slug"] == "new-bot" and data["role"] == "owner" and data["tags"] == ["a"]
        assert response["ETag"]
        assert AuditLogEntry.objects.filter(action="agent.created").count() == 1

    def test_put_on_existing_agent_without_if_match_is_428(self, api, user, make_agent):
        agent = make_agent(user, name="Bot", slug="bot")
        problem(api(user).put("/api/v1/agents/bot", {"name": "Bot 2"}), 428, "precondition_required")
        agent.refresh_from_db()
        assert agent.name == "Bot"

    def test_put_with_stale_if_match_is_412(self, api, user, make_agent):
        make_agent(user, name="Bot", slug="bot")
        problem(api(user).put("/api/v1/agents/bot", {"name": "Bot 2"}, HTTP_IF_MATCH='"nope"'),
                412, "precondition_failed")

    def test_put_replaces_whole_representation(self, api, user, make_agent):
        make_agent(user, name="Bot", slug="bot", description="old", tags=["t"],
                   config={"instructions": "old", "max_iterations": 3})
        client = api(user)
        etag = client.get("/api/v1/agents/bot")["ETag"]
        response = client.put("/api/v1/agents/bot", {"name": "Bot v2", "config": {"instructions": "new"}},
                              HTTP_IF_MATCH=etag)
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["name"] == "Bot v2"
        assert data["description"] == "" and data["tags"] == []
        assert data["config"]["instructions"] == "new"
        assert data["config"]["max_iterations"] == 10  # back to the default
        assert response["ETag"] != etag
        assert AuditLogEntry.objects.filter(action="agent.replaced").count() == 1

    def test_put_requires_name(self, api, user, make_agent):
        make_agent(user, name="Bot", slug="bot")
        client = api(user)
        etag = client.get("/api/v1/agents/bot")["ETag"]
        body = problem(client.put("/api/v1/agents/bot", {"description": "x"}, HTTP_IF_MATCH=etag),
                       400, "validation_error")
        assert body["errors"] == {"name": ["This field is required."]}

    def test_put_create_with_if_match_is_412(self, api, user):
        problem(api(user).put("/api/v1/agents/ghost", {"name": "Ghost"}, HTTP_IF_MATCH='"x"'),
                412, "precondition_failed")
        assert not Agent.objects.exists()

    def test_put_create_with_invalid_slug_is_400(self, api, user):
        body = problem(api(user).put("/api/v1/agents/bad--slug", {"name": "x"}), 400, "validation_error")
        assert "slug" in body["errors"]

    def test_put_body_slug_must_match_path(self, api, user):
        problem(api(user).put("/api/v1/agents/one", {"name": "x", "slug": "two"}), 400, "validation_error")

    def test_put_on_unknown_uuid_is_404(self, api, user):
        problem(api(user).put("/api/v1/agents/0d5c7f8e-1234-4abc-9def-0123456789ab", {"name": "x"}),
                404, "not_found")

    def test_put_on_invisible_slug_is_409_like_post(self, api, user, make_user, make_agent):
        make_agent(make_user(), name="Theirs", slug="theirs")
        problem(api(user).put("/api/v1/agents/theirs", {"name": "Mine"}), 409, "name_taken")

    def test_viewer_cannot_replace(self, api, user, make_user, make_agent, add_member):
        agent = make_agent(make_user(), name="Bot", slug="bot")
        add_member(agent, user, "viewer")
        problem(api(user).put("/api/v1/agents/bot", {"name": "Mine"}, HTTP_IF_MATCH="*"), 403, "permission_denied")

    def test_read_scope_token_cannot_put(self, api, user):
        problem(api(user, scopes=["agents:read"]).put("/api/v1/agents/new", {"name": "x"}),
                403, "permission_denied")
