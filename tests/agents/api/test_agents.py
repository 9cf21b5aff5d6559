"""The agents API: create, read, list, update, replace, delete (API.md §3)."""

import pytest

from agents.models import Agent, AgentMember, AuditLogEntry
from tests.conftest import problem

AGENT_KEYS = {
    "id", "slug", "name", "description", "tags", "status", "runtime", "owner", "role", "config",
    "pipeline", "stats", "created_at", "updated_at", "last_activity",
}
CONFIG_KEYS = {
    "instructions", "personality", "operating_prompt_id", "model", "fallback_models", "max_iterations",
    "tools", "mcps", "actions", "memory", "context_policy", "session_policy", "heartbeat", "knowledge", "env",
}
PIPELINE = {
    "nodes": [
        {"id": "input_1", "type": "input", "data": {"schema": {"type": "object",
                                                               "properties": {"message": {"type": "string"}}}}},
        {"id": "llm_1", "type": "llm_call", "data": {"provider": "echo", "user_prompt_template": "{{input.message}}"}},
        {"id": "output_1", "type": "output", "data": {"mapping": "{{nodes.llm_1.output}}"}},
    ],
    "edges": [{"id": "e1", "source": "input_1", "target": "llm_1"},
              {"id": "e2", "source": "llm_1", "target": "output_1"}],
}


@pytest.mark.django_db
class TestCreate:
    def test_create_returns_full_representation_and_makes_caller_owner(self, api, user):
        # when
        response = api(user).post("/api/v1/agents", {
            "name": "Support Bot", "description": "Helps", "tags": ["support", "faq"], "pipeline": PIPELINE,
            "config": {"instructions": "Be kind", "model": {"provider": "echo", "model": "echo-1",
                                                            "params": {"temperature": 0.2}}},
        })
        # then
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"data"}
        agent = body["data"]
        assert set(agent) == AGENT_KEYS
        assert set(agent["config"]) == CONFIG_KEYS
        assert agent["slug"] == "support-bot"
        assert agent["role"] == "owner"
        assert agent["status"] == "active"
        assert agent["tags"] == ["support", "faq"]
        assert agent["owner"] == {"id": str(user.pk), "email": user.email}
        assert agent["runtime"] == {"state": "stopped", "deployed_version": None, "started_at": None}
        assert agent["config"]["model"] == {"provider": "echo", "model": "echo-1", "params": {
            "temperature": 0.2, "max_tokens": 1024, "top_p": 1, "stop": [], "seed": None}}
        assert agent["pipeline"]["nodes"][1]["id"] == "llm_1"
        assert agent["stats"] == {"versions": 0, "executions": 0, "threads": 0, "messages": 0,
                                  "schedules": 0, "artifacts": 0, "knowledge_documents": 0}
        assert agent["created_at"].endswith("Z")
        assert response["ETag"].startswith('"')
        stored = Agent.objects.get(pk=agent["id"])
        assert stored.owner == user
        assert AgentMember.objects.get(agent=stored).role == "owner"
        assert AuditLogEntry.objects.filter(agent=stored, action="agent.created").count() == 1

    def test_name_is_required(self, api, user):
        body = problem(api(user).post("/api/v1/agents", {"description": "x"}), 400, "validation_error")
        assert body["errors"] == {"name": ["This field is required."]}
        assert not Agent.objects.exists()

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101])
    def test_name_length(self, api, user, name):
        body = problem(api(user).post("/api/v1/agents", {"name": name}), 400, "validation_error")
        assert "name" in body["errors"]

    def test_name_of_100_characters_is_accepted(self, api, user):
        assert api(user).post("/api/v1/agents", {"name": "x" * 100}).status_code == 201

    def test_description_at_most_500(self, api, user):
        body = problem(api(user).post("/api/v1/agents", {"name": "a", "description": "d" * 501}),
                       400, "validation_error")
        assert body["errors"]["description"] == ["Ensure this field has no more than 500 characters."]
        assert api(user).post("/api/v1/agents", {"name": "a", "description": "d" * 500}).status_code == 201

    @pytest.mark.parametrize("slug", ["-abc", "abc-", "a--b", "a_b", "a b", "x" * 65, "check-name", "new",
                                      "import", "0d5c7f8e-1234-4abc-9def-0123456789ab", "émoji"])
    def test_slug_format(self, api, user, slug):
        body = problem(api(user).post("/api/v1/agents", {"name": "a", "slug": slug}), 400, "validation_error")
        assert "slug" in body["errors"]

    @pytest.mark.parametrize("name", ["New", "Import"])
    def test_a_name_that_slugs_to_a_fixed_path_gets_a_slug_of_its_own(self, api, user, name):
        response = api(user).post("/api/v1/agents", {"name": name})
        assert response.status_code == 201
        assert response.json()["data"]["slug"] == f"{name.lower()}-agent"

    def test_explicit_slug_taken_is_409_name_taken(self, api, user, make_user, make_agent):
        make_agent(make_user(), name="Other", slug="taken")
        body = problem(api(user).post("/api/v1/agents", {"name": "Mine", "slug": "taken"}), 409, "name_taken")
        assert body["errors"] == {"slug": ["Already in use."]}
        assert Agent.objects.count() == 1

    def test_name_taken_by_same_owner_is_409(self, api, user, make_agent):
        make_agent(user, name="Bot")
        problem(api(user).post("/api/v1/agents", {"name": "Bot"}), 409, "name_taken")

    def test_same_name_for_different_owners_gets_suffixed_slug(self, api, user, make_user, make_agent):
        make_agent(make_user(), name="Bot")
        response = api(user).post("/api/v1/agents", {"name": "Bot"})
        assert response.status_code == 201
        assert response.json()["data"]["slug"] == "bot-2"

    def test_unknown_provider_is_400(self, api, user):
        body = problem(api(user).post("/api/v1/agents", {"name": "a", "config": {
            "model": {"provider": "nope", "model": "m"}}}), 400, "validation_error")
        assert "config.model.provider" in body["errors"]

    def test_invalid_pipeline_is_400_with_paths(self, api, user):
        pipeline = {"nodes": [{"id": "in", "type": "input"}, {"id": "x", "type": "teleport"}],
                    "edges": [{"source": "in", "target": "ghost"}]}
        body = problem(api(user).post("/api/v1/agents", {"name": "a", "pipeline": pipeline}),
                       400, "validation_error")
        assert "pipeline.nodes[1].type" in body["errors"]
        assert "pipeline.edges[0].target" in body["errors"]
        assert not Agent.objects.exists()

    def test_secret_env_is_stored_encrypted_and_never_returned(self, api, user):
        response = api(user).post("/api/v1/agents", {"name": "a", "config": {
            "env": {"REGION": "eu", "API_KEY": {"value": "sk-very-secret", "secret": True}}}})
        assert response.status_code == 201
        assert response.json()["data"]["config"]["env"] == {"REGION": "eu", "API_KEY": {"secret": True}}
        assert b"sk-very-secret" not in response.content
        stored = Agent.objects.get().config["env"]["API_KEY"]
        assert stored["secret"] is True and "sk-very-secret" not in str(stored)
        log = AuditLogEntry.objects.get()
        assert "sk-very-secret" not in str(log.changes)

    def test_body_must_be_an_object(self, api, user):
        problem(api(user).post("/api/v1/agents", ["a"]), 400, "validation_error")


@pytest.mark.django_db
class TestRetrieve:
    def test_by_id_and_by_slug(self, api, user, make_agent):
        agent = make_agent(user, name="Bot")
        client = api(user)
        by_id = client.get(f"/api/v1/agents/{agent.pk}")
        by_slug = client.get("/api/v1/agents/bot")
        assert by_id.status_code == by_slug.status_code == 200
        assert by_id.json() == by_slug.json()
        assert by_id["ETag"] == by_slug["ETag"]

    def test_trailing_slash_is_tolerated(self, api, user, make_agent):
        make_agent(user, name="Bot")
        assert api(user).get("/api/v1/agents/bot/").status_code == 200

    def test_absent_agent_is_404(self, api, user):
        problem(api(user).get("/api/v1/agents/nothing-here"), 404, "not_found")


@pytest.mark.django_db
class TestUpdate:
    def test_patch_changes_fields_and_merges_config(self, api, user, make_agent):
        agent = make_agent(user, name="Bot", config={"instructions": "old", "model": {
            "provider": "echo", "model": "m", "params": {"temperature": 0.5, "max_tokens": 99}}})
        response = api(user).patch(f"/api/v1/agents/{agent.pk}", {
            "description": "new", "config": {"model": {"params": {"temperature": 0.1}}}})
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["description"] == "new"
        assert data["config"]["instructions"] == "old"
        assert data["config"]["model"]["params"]["temperature"] == 0.1
        assert data["config"]["model"]["params"]["max_tokens"] == 99
        agent.refresh_from_db()
        assert agent.description == "new"
        assert agent.revision == 2
        entry = AuditLogEntry.objects.get(agent=agent, action="agent.updated")
        assert entry.changes == {"config.model.params.temperature": {"old": 0.5, "new": 0.1},
                                 "description": {"old": "", "new": "new"}}

    def test_patch_null_resets_config_key_to_default(self, api, user, make_agent):
        agent = make_agent(user, config={"max_iterations": 3})
        response = api(user).patch(f"/api/v1/agents/{agent.pk}", {"config": {"max_iterations": None}})
        assert response.json()["data"]["config"]["max_iterations"] == 10

    def test_patch_config_null_resets_every_key(self, api, user, make_agent):
        agent = make_agent(user, config={"instructions": "custom", "max_iterations": 3})
        data = api(user).patch(f"/api/v1/agents/{agent.pk}", {"config": None}).json()["data"]
        assert data["config"]["instructions"] == "" and data["config"]["max_iterations"] == 10

    def test_patch_keeps_secret_sent_back_masked(self, api, user, make_agent):
        agent = make_agent(user, config={"env": {"K": {"value": "s3cret", "secret": True}}})
        ciphertext = agent.config["env"]["K"]["ciphertext"]
        response = api(user).patch(f"/api/v1/agents/{agent.pk}", {"config": {"instructions": "hi"}})
        assert response.status_code == 200
        agent.refresh_from_db()
        assert agent.config["env"]["K"]["ciphertext"] == ciphertext

    def test_patch_invalid_config_changes_nothing(self, api, user, make_agent):
        agent = make_agent(user, config={"instructions": "keep"})
        body = problem(api(user).patch(f"/api/v1/agents/{agent.pk}", {
            "name": "renamed", "config": {"max_iterations": 0}}), 400, "validation_error")
        assert "config.max_iterations" in body["errors"]
        agent.refresh_from_db()
        assert agent.name != "renamed" and agent.revision == 1
        assert not AuditLogEntry.objects.filter(action="agent.updated").exists()

    def test_patch_without_changes_writes_no_audit_entry(self, api, user, make_agent):
        agent = make_agent(user, name="Same")
        assert api(user).patch(f"/api/v1/agents/{agent.pk}", {"name": "Same"}).status_code == 200
        assert not AuditLogEntry.objects.filter(action="agent.updated").exists()

    def test_patch_slug_to_taken_one_is_409(self, api, user, make_agent):
        make_agent(user, name="One", slug="one")
        agent = make_agent(user, name="Two")
        problem(api(user).patch(f"/api/v1/agents/{agent.pk}", {"slug": "one"}), 409, "name_taken")


@pytest.mark.django_db
class TestDelete:
    def test_owner_deletes_agent_and_everything_it_owns(self, api, user, make_user, make_agent, add_member):
        agent = make_agent(user, tags=["x"])
        add_member(agent, make_user(), "viewer")
        response = api(user).delete(f"/api/v1/agents/{agent.slug}")
        assert response.status_code == 204
        assert response.content == b""
        assert not Agent.objects.exists()
        assert not AgentMember.objects.exists()
        entry = AuditLogEntry.objects.get(action="agent.deleted")
        assert entry.agent is None and entry.agent_ref == agent.pk

    def test_default_agent_cannot_be_deleted(self, api, user, make_agent):
        agent = make_agent(user, name="default")
        problem(api(user).delete(f"/api/v1/agents/{agent.pk}"), 409, "conflict")
        assert Agent.objects.filter(pk=agent.pk).exists()


@pytest.mark.django_db
class TestStatusAndDuplicate:
    def test_deactivate_then_activate(self, api, user, make_agent):
        agent = make_agent(user)
        client = api(user)
        assert client.post(f"/api/v1/agents/{agent.pk}/deactivate").json()["data"]["status"] == "paused"
        assert client.post(f"/api/v1/agents/{agent.pk}/activate").json()["data"]["status"] == "active"
        actions = list(AuditLogEntry.objects.filter(agent=agent).values_list("action", flat=True))
        assert actions.count("agent.status_changed") == 2

    def test_duplicate_copies_config_and_makes_caller_owner(self, api, user, make_user, make_agent, add_member):
        owner = make_user()
        agent = make_agent(owner, name="Orig", tags=["t"], pipeline=PIPELINE,
                           config={"instructions": "hi", "env": {"K": {"value": "v", "secret": True}}})
        add_member(agent, user, "admin")
        response = api(user).post(f"/api/v1/agents/{agent.pk}/duplicate", {})
        assert response.status_code == 201, response.content
        data = response.json()["data"]
        assert data["name"] == "Orig (copy)"
        assert data["role"] == "owner" and data["owner"]["id"] == str(user.pk)
        assert data["config"]["instructions"] == "hi"
        assert data["pipeline"] == Agent.objects.get(pk=agent.pk).pipeline
        assert data["tags"] == ["t"]
        copy_ = Agent.objects.get(pk=data["id"])
        assert copy_.config["env"]["K"] == agent.config["env"]["K"]
        entry = AuditLogEntry.objects.get(agent=copy_, action="agent.duplicated")
        assert entry.changes == {"source": {"old": None, "new": str(agent.pk)}} and entry.actor == user

    def test_duplicate_with_name(self, api, user, make_agent):
        agent = make_agent(user, name="Orig")
        response = api(user).post(f"/api/v1/agents/{agent.pk}/duplicate", {"name": "Clone"})
        assert response.json()["data"]["name"] == "Clone"


@pytest.mark.django_db
class TestCheckName:
    def test_available(self, api, user):
        response = api(user).get("/api/v1/agents/check-name", {"name": "Fresh"})
        assert response.json() == {"data": {"available": True, "reason": None, "conflict_id": None}}

    def test_duplicate(self, api, user, make_agent):
        agent = make_agent(user, name="Bot")
        data = api(user).get("/api/v1/agents/check-name", {"name": "Bot"}).json()["data"]
        assert data == {"available": False, "reason": "duplicate", "conflict_id": str(agent.pk)}

    def test_duplicate_ignored_for_own_id(self, api, user, make_agent):
        agent = make_agent(user, name="Bot")
        data = api(user).get("/api/v1/agents/check-name", {"name": "Bot", "ignore_id": str(agent.pk)}).json()
        assert data["data"]["available"] is True

    def test_other_owners_names_do_not_count(self, api, user, make_user, make_agent):
        make_agent(make_user(), name="Bot")
        assert api(user).get("/api/v1/agents/check-name", {"name": "Bot"}).json()["data"]["available"] is True

    @pytest.mark.parametrize("name", ["", "x" * 101])
    def test_invalid(self, api, user, name):
        data = api(user).get("/api/v1/agents/check-name", {"name": name}).json()["data"]
        assert data == {"available": False, "reason": "invalid", "conflict_id": None}

    def test_name_parameter_required(self, api, user):
        body = problem(api(user).get("/api/v1/agents/check-name"), 400, "validation_error")
        assert "name" in body["errors"]
