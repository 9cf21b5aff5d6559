"""The agent's brain: GET /config, PATCH /model, GET/PUT/PATCH /settings (API.md §3, seeds 002 and 004)."""

import pytest

from accounts.actor import Actor
from agents.models import Agent, AuditLogEntry
from agents.services.providers import provider_create
from agents.services.runtime import agent_start
from tests.conftest import problem

DEFAULT_PARAMS = {"temperature": 0.7, "max_tokens": 1024, "top_p": 1, "stop": [], "seed": None}
CONFIG_VIEW_KEYS = {"agent_name", "agent_type", "is_running", "deployed_version", "redeploy_required", "config",
                    "primary_model", "fallback_models"}
PIPELINE = {
    "nodes": [
        {"id": "input", "type": "input", "data": {"schema": {"type": "object"}}},
        {"id": "output", "type": "output", "data": {"mapping": "{{input.message}}"}},
    ],
    "edges": [{"id": "e1", "source": "input", "target": "output"}],
}


@pytest.fixture
def fake_provider(staff):
    return provider_create(actor=Actor(user=staff), name="fake", kind="openai", base_url="http://127.0.0.1:9/v1",
                           api_key="k", models=[{"name": "gpt-main", "input_per_million": 1, "output_per_million": 2},
                                                {"name": "gpt-backup", "input_per_million": 1,
                                                 "output_per_million": 2}])


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Iris", slug="iris", config={
        "personality": "Warm", "env": {"PLAIN": "visible", "TOKEN": {"value": "s3cret", "secret": True}}})


def _audit(agent, action):
    return list(AuditLogEntry.objects.filter(agent_ref=agent.pk, action=action))


# --- GET /config ---------------------------------------------------------------------------------

@pytest.mark.django_db
class TestConfig:
    def test_viewer_reads_brain_config_with_secrets_masked(self, api, agent, make_user, add_member):
        # given
        viewer = make_user("viewer")
        add_member(agent, viewer, "viewer")
        # when
        response = api(viewer, scopes=["agents:read"]).get("/api/v1/agents/iris/config")
        # then
        assert response.status_code == 200, response.content
        body = response.json()["data"]
        assert set(body) == CONFIG_VIEW_KEYS
        assert body["agent_name"] == "Iris"
        assert body["agent_type"] == "function-calling"
        assert body["is_running"] is False
        assert body["deployed_version"] is None
        assert body["redeploy_required"] is False
        assert body["config"]["personality"] == "Warm"
        assert body["config"]["env"] == {"PLAIN": "visible", "TOKEN": {"secret": True}}
        assert "s3cret" not in response.content.decode()
        assert body["primary_model"] == {"provider": "echo", "model": "echo", "params": DEFAULT_PARAMS}
        assert body["fallback_models"] == []
        assert response["ETag"].startswith('"')

    def test_agent_with_pipeline_nodes_is_a_pipeline_and_running_shows(self, api, make_agent, owner):
        # given
        agent = make_agent(owner, name="Flow", pipeline=PIPELINE)
        agent_start(agent=agent, actor=Actor(user=owner))
        # when
        body = api(owner).get(f"/api/v1/agents/{agent.pk}/config").json()["data"]
        # then
        assert body["agent_type"] == "pipeline"
        assert body["is_running"] is True
        assert body["deployed_version"] == 1

    def test_non_member_gets_404(self, api, agent, make_user):
        problem(api(make_user("stranger")).get("/api/v1/agents/iris/config"), 404, "not_found")

    def test_token_without_read_scope_gets_403(self, api, agent, owner):
        problem(api(owner, scopes=["agents:run"]).get("/api/v1/agents/iris/config"), 403, "permission_denied")

    def test_anonymous_gets_401(self, api, agent):
        problem(api().get("/api/v1/agents/iris/config"), 401, "not_authenticated")


# --- PATCH /model --------------------------------------------------------------------------------

@pytest.mark.django_db
class TestModel:
    def test_owner_swaps_model_and_fallbacks_against_a_provider_row(self, api, agent, owner, fake_provider):
        # given
        etag = api(owner).get("/api/v1/agents/iris").headers["ETag"]
        # when
        response = api(owner).patch("/api/v1/agents/iris/model", {
            "model": {"provider": "fake", "model": "gpt-main", "params": {"temperature": 0.1}},
            "fallback_models": [{"provider": str(fake_provider.pk), "model": "gpt-backup"},
                                {"provider": "openai", "model": "anything-goes"}],
        }, format="json", HTTP_IF_MATCH=etag)
        # then
        assert response.status_code == 200, response.content
        body = response.json()["data"]
        assert body == {
            "model": {"provider": "fake", "model": "gpt-main", "params": {**DEFAULT_PARAMS, "temperature": 0.1}},
            "fallback_models": [{"provider": str(fake_provider.pk), "model": "gpt-backup"},
                                {"provider": "openai", "model": "anything-goes"}],
            "redeploy_required": False,
        }
        stored = Agent.objects.get(pk=agent.pk)
        assert stored.config["model"]["model"] == "gpt-main"
        assert stored.config["personality"] == "Warm"  # the rest of the config is untouched
        assert stored.config["env"]["TOKEN"]["secret"] is True  # secrets survive the rewrite
        assert stored.revision == agent.revision + 1
        assert response["ETag"] != etag
        [entry] = _audit(agent, "agent.model_changed")
        assert entry.actor == owner
        assert entry.changes["config.model.model"] == {"old": "echo", "new": "gpt-main"}
        assert entry.changes["config.model.provider"] == {"old": "echo", "new": "fake"}
        assert "config.fallback_models" in entry.changes

    def test_params_left_out_are_kept(self, api, agent, owner, fake_provider):
        # given
        api(owner).patch("/api/v1/agents/iris/model", {"model": {
            "provider": "echo", "model": "echo", "params": {"temperature": 1.5, "max_tokens": 99}}}, format="json")
        # when
        response = api(owner).patch("/api/v1/agents/iris/model",
                                    {"model": {"provider": "fake", "model": "gpt-main"}}, format="json")
        # then
        assert response.status_code == 200, response.content
        assert response.json()["data"]["model"]["params"] == {**DEFAULT_PARAMS, "temperature": 1.5, "max_tokens": 99}

    def test_fallbacks_alone_keep_the_primary_model(self, api, agent, owner):
        response = api(owner).patch("/api/v1/agents/iris/model",
                                    {"fallback_models": [{"provider": "anthropic", "model": "claude"}]}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["data"]["model"]["provider"] == "echo"
        assert Agent.objects.get(pk=agent.pk).config["fallback_models"] == [{"provider": "anthropic",
                                                                              "model": "claude"}]

    def test_unknown_provider_is_400_at_model_provider(self, api, agent, owner, fake_provider):
        body = problem(api(owner).patch("/api/v1/agents/iris/model",
                                        {"model": {"provider": "nope", "model": "x"}}, format="json"),
                       400, "validation_error")
        assert list(body["errors"]) == ["model.provider"]
        assert "fake" in body["errors"]["model.provider"][0]
        assert Agent.objects.get(pk=agent.pk).revision == agent.revision

    def test_model_missing_from_the_providers_list_is_400_naming_the_known_models(self, api, agent, owner,
                                                                                     fake_provider):
        body = problem(api(owner).patch("/api/v1/agents/iris/model",
                                        {"model": {"provider": "fake", "model": "gpt-9"}}, format="json"),
                       400, "validation_error")
        assert list(body["errors"]) == ["model.model"]
        assert "gpt-main, gpt-backup" in body["errors"]["model.model"][0]
        assert _audit(agent, "agent.model_changed") == []

    def test_bad_fallback_is_400_at_its_index(self, api, agent, owner, fake_provider):
        body = problem(api(owner).patch("/api/v1/agents/iris/model", {"fallback_models": [
            {"provider": "fake", "model": "gpt-main"}, {"provider": "fake", "model": "gpt-9"}]}, format="json"),
            400, "validation_error")
        assert list(body["errors"]) == ["fallback_models[1].model"]

    @pytest.mark.parametrize("payload, path", [
        ({}, "non_field_errors"),
        ({"modle": {"provider": "echo", "model": "echo"}}, "modle"),
        ({"model": {"provider": "echo"}}, "model.model"),
        ({"model": {"provider": "echo", "model": "echo", "params": {"temperature": 3}}}, "model.params.temperature"),
    ])
    def test_malformed_bodies_are_400(self, api, agent, owner, payload, path):
        body = problem(api(owner).patch("/api/v1/agents/iris/model", payload, format="json"), 400, "validation_error")
        assert path in body["errors"]

    def test_stale_if_match_is_412(self, api, agent, owner):
        problem(api(owner).patch("/api/v1/agents/iris/model", {"model": {"provider": "echo", "model": "e2"}},
                                 format="json", HTTP_IF_MATCH='"stale"'), 412, "precondition_failed")

    def test_running_agent_needs_a_redeploy(self, api, agent, owner):
        # given
        agent_start(agent=agent, actor=Actor(user=owner))
        # when
        response = api(owner).patch("/api/v1/agents/iris/model", {"model": {"provider": "openai", "model": "gpt-4o"}},
                                    format="json")
        # then
        assert response.json()["data"]["redeploy_required"] is True
        assert api(owner).get("/api/v1/agents/iris/config").json()["data"]["redeploy_required"] is True
        assert Agent.objects.get(pk=agent.pk).deployed_version == 1  # the deployed version is untouched


# --- /settings -----------------------------------------------------------------------------------

@pytest.mark.django_db
class TestSettings:
    def test_get_maps_the_model(self, api, agent, owner):
        response = api(owner).get("/api/v1/agents/iris/settings")
        assert response.status_code == 200, response.content
        assert response.json() == {"data": {"llm_provider": "echo", "llm_model": "echo", "llm_temperature": 0.7,
                                            "redeploy_required": False}}
        assert response["ETag"].startswith('"')

    def test_put_round_trip(self, api, agent, owner, fake_provider):
        # when
        response = api(owner).put("/api/v1/agents/iris/settings", {
            "llm_provider": "fake", "llm_model": "gpt-main", "llm_temperature": 0.5}, format="json")
        # then
        assert response.status_code == 200, response.content
        expected = {"llm_provider": "fake", "llm_model": "gpt-main", "llm_temperature": 0.5,
                    "redeploy_required": False}
        assert response.json()["data"] == expected
        assert api(owner).get("/api/v1/agents/iris/settings").json()["data"] == expected
        model = Agent.objects.get(pk=agent.pk).config["model"]
        assert model == {"provider": "fake", "model": "gpt-main", "params": {**DEFAULT_PARAMS, "temperature": 0.5}}
        [entry] = _audit(agent, "agent.settings_changed")
        assert entry.changes["config.model.params.temperature"] == {"old": 0.7, "new": 0.5}

    def test_put_accepts_its_own_get_back(self, api, agent, owner):
        settings = api(owner).get("/api/v1/agents/iris/settings").json()["data"]
        response = api(owner).put("/api/v1/agents/iris/settings", settings, format="json")
        assert response.status_code == 200, response.content
        assert _audit(agent, "agent.settings_changed") == []  # nothing changed, nothing audited

    def test_put_requires_all_three(self, api, agent, owner):
        body = problem(api(owner).put("/api/v1/agents/iris/settings", {"llm_temperature": 0.5}, format="json"),
                       400, "validation_error")
        assert set(body["errors"]) == {"llm_provider", "llm_model"}

    def test_patch_changes_a_subset(self, api, agent, owner):
        response = api(owner).patch("/api/v1/agents/iris/settings", {"llm_temperature": 1.2}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["data"]["llm_temperature"] == 1.2
        assert response.json()["data"]["llm_provider"] == "echo"

    @pytest.mark.parametrize("temperature", [2.5, -0.1, "hot"])
    def test_bad_temperature_is_400(self, api, agent, owner, temperature):
        body = problem(api(owner).put("/api/v1/agents/iris/settings", {
            "llm_provider": "echo", "llm_model": "echo", "llm_temperature": temperature}, format="json"),
            400, "validation_error")
        assert list(body["errors"]) == ["llm_temperature"]
        assert Agent.objects.get(pk=agent.pk).config["model"]["params"]["temperature"] == 0.7

    def test_unknown_key_is_400(self, api, agent, owner):
        body = problem(api(owner).put("/api/v1/agents/iris/settings", {
            "llm_provider": "echo", "llm_model": "echo", "llm_temperature": 0.5, "llm_top_k": 3}, format="json"),
            400, "validation_error")
        assert list(body["errors"]) == ["llm_top_k"]

    def test_unknown_provider_and_unlisted_model_are_400(self, api, agent, owner, fake_provider):
        body = problem(api(owner).put("/api/v1/agents/iris/settings", {
            "llm_provider": "nope", "llm_model": "x", "llm_temperature": 0.5}, format="json"), 400, "validation_error")
        assert list(body["errors"]) == ["llm_provider"]
        body = problem(api(owner).patch("/api/v1/agents/iris/settings", {
            "llm_provider": "fake", "llm_model": "gpt-9"}, format="json"), 400, "validation_error")
        assert list(body["errors"]) == ["llm_model"]
        assert "gpt-main" in body["errors"]["llm_model"][0]


# --- who may do what -----------------------------------------------------------------------------

WRITES = [
    ("patch", "/api/v1/agents/iris/model", {"model": {"provider": "echo", "model": "echo-2"}}),
    ("put", "/api/v1/agents/iris/settings", {"llm_provider": "echo", "llm_model": "echo-2", "llm_temperature": 1}),
    ("patch", "/api/v1/agents/iris/settings", {"llm_model": "echo-2"}),
]
READS = ["/api/v1/agents/iris/config", "/api/v1/agents/iris/settings"]


@pytest.mark.django_db
class TestRoles:
    @pytest.mark.parametrize("role", ["viewer", "operator"])
    @pytest.mark.parametrize("method, path, payload", WRITES)
    def test_viewer_and_operator_cannot_change_the_model(self, api, agent, make_user, add_member, role,
                                                         method, path, payload):
        member = make_user(role)
        add_member(agent, member, role)
        problem(getattr(api(member), method)(path, payload, format="json"), 403, "permission_denied")
        assert Agent.objects.get(pk=agent.pk).config["model"]["model"] == "echo"

    @pytest.mark.parametrize("role", ["admin", "owner"])
    @pytest.mark.parametrize("method, path, payload", WRITES)
    def test_admin_and_owner_can(self, api, agent, owner, make_user, add_member, role, method, path, payload):
        member = owner if role == "owner" else make_user(role)
        if role != "owner":
            add_member(agent, member, role)
        response = getattr(api(member), method)(path, payload, format="json")
        assert response.status_code == 200, response.content
        assert Agent.objects.get(pk=agent.pk).config["model"]["model"] == "echo-2"

    @pytest.mark.parametrize("method, path, payload", WRITES)
    def test_token_without_write_scope_cannot(self, api, agent, owner, method, path, payload):
        client = api(owner, scopes=["agents:read", "agents:run"])
        problem(getattr(client, method)(path, payload, format="json"), 403, "permission_denied")

    @pytest.mark.parametrize("method, path, payload", WRITES)
    def test_non_member_gets_404_on_writes(self, api, agent, make_user, method, path, payload):
        problem(getattr(api(make_user("stranger")), method)(path, payload, format="json"), 404, "not_found")

    @pytest.mark.parametrize("path", READS)
    def test_every_member_reads(self, api, agent, make_user, add_member, path):
        for role in ("viewer", "operator", "admin"):
            member = make_user(role)
            add_member(agent, member, role)
            assert api(member, scopes=["agents:read"]).get(path).status_code == 200
        problem(api(make_user("stranger")).get(path), 404, "not_found")
