"""POST /agents/create-from-wizard (seed 004): one transaction creating the
agent and seeding its memory, rules, skills and tasks."""

import pytest

from accounts.actor import Actor
from agents.models import Agent, AgentMember, AgentSkill, AuditLogEntry, Memory, Schedule, Skill
from agents.services.providers import provider_create
from tests.conftest import problem

URL = "/api/v1/agents/create-from-wizard"

IRIS = {
    "name": "Iris",
    "description": "Personal assistant",
    "personality": "Warm, direct, technically competent.",
    "operating_prompt_id": "prompt_default_op",
    "model": {"provider": "fake", "model": "gpt-main", "params": {"temperature": 0.3}},
    "fallback_models": [{"provider": "openai", "model": "gpt-4o"}],
    "context_policy": {"kind": "summarise", "token_budget": 8000, "keep_recent": 12},
    "session_policy": {"idle_timeout_seconds": 1800, "max_session_duration_seconds": 14400,
                       "max_concurrent_sessions_per_user": 3, "auto_archive_after_days": 30,
                       "allow_per_session_model_override": False},
    "connectors": [
        {"tile_id": "web-search", "node_type": "web-search", "label": "Web Search", "category": "code",
         "config": {"provider": "duckduckgo"}},
        {"tile_id": "docs", "node_type": "knowledge", "label": "Docs", "category": "data", "config": {"top_k": 3}},
    ],
    "training": {
        "memory": [{"content": "The user lives in Lisbon."},
                   {"content": "Last week we planned a trip.", "type": "episodic"}],
        "rules": [{"description": "Confirm before sending", "content": "Always ask before sending email.",
                   "category": "must", "severity": "high"}],
        "skills": [{"name": "Summarise", "description": "Short summaries", "content": "Use bullet points.",
                    "tags": ["writing"]}],
        "tasks": [{"cron": "0 9 * * 1-5", "prompt": "Plan my day", "timezone": "Europe/Lisbon"},
                  {"cron": "0 18 * * *", "prompt": "Wrap up", "name": "evening"}],
    },
}


@pytest.fixture
def fake_provider(staff):
    return provider_create(actor=Actor(user=staff), name="fake", kind="openai", base_url="http://127.0.0.1:9/v1",
                           api_key="k", models=[{"name": "gpt-main", "input_per_million": 1, "output_per_million": 2}])


def _counts():
    return {"agents": Agent.objects.count(), "members": AgentMember.objects.count(),
            "memories": Memory.objects.count(), "skills": Skill.objects.count(),
            "links": AgentSkill.objects.count(), "schedules": Schedule.objects.count(),
            "audit": AuditLogEntry.objects.count()}


def _with(**changes):
    return {**IRIS, **changes}


def _training(**changes):
    return _with(training={**IRIS["training"], **changes})


@pytest.mark.django_db
class TestHappyPath:
    def test_creates_the_agent_and_seeds_its_library(self, api, user, fake_provider):
        # when
        response = api(user, scopes=["agents:write"]).post(URL, IRIS, format="json")
        # then
        assert response.status_code == 201, response.content
        body = response.json()["data"]
        agent = Agent.objects.get(pk=body["agent_id"])
        assert body == {"workflow_id": str(agent.pk), "agent_id": str(agent.pk), "slug": "iris",
                        "seed_counts": {"memory": 2, "rules": 1, "skills": 1, "tasks": 2},
                        "operating_prompt_id": "prompt_default_op"}
        assert response["ETag"].startswith('"')
        assert response["Location"] == f"/api/v1/agents/{agent.pk}"
        # the agent and its config
        assert agent.owner == user and agent.name == "Iris" and agent.description == "Personal assistant"
        assert AgentMember.objects.get(agent=agent).role == "owner"
        config = agent.config
        assert config["personality"] == "Warm, direct, technically competent."
        assert config["operating_prompt_id"] == "prompt_default_op"
        assert config["model"]["model"] == "gpt-main" and config["model"]["params"]["temperature"] == 0.3
        assert config["fallback_models"] == [{"provider": "openai", "model": "gpt-4o"}]
        assert config["context_policy"] == {"kind": "summarise", "token_budget": 8000, "keep_recent": 12}
        assert config["session_policy"]["idle_timeout_seconds"] == 1800
        assert config["tools"] == [
            {"id": "web-search", "type": "http_request", "description": "Web Search",
             "config": {"provider": "duckduckgo"}},
            {"id": "docs", "type": "knowledge_search", "description": "Docs", "config": {"top_k": 3}},
        ]
        assert config["memory"] == {"enabled": True, "types": ["conversation", "episodic", "semantic"]}
        # memories and rules
        memories = {m.content: m for m in Memory.objects.filter(agent=agent)}
        assert memories["The user lives in Lisbon."].kind == "semantic"
        assert memories["Last week we planned a trip."].kind == "episodic"
        rule = memories["Always ask before sending email."]
        assert rule.kind == "rule"
        assert rule.metadata == {"description": "Confirm before sending", "category": "must", "severity": "high"}
        assert rule.created_by == user
        # skills
        link = AgentSkill.objects.select_related("skill").get(agent=agent)
        assert link.auto_connected is True and link.connected_by == user
        assert (link.skill.owner, link.skill.name, link.skill.tags) == (user, "Summarise", ["writing"])
        # tasks
        schedules = {s.name: s for s in Schedule.objects.filter(agent=agent)}
        assert schedules["evening"].cron == "0 18 * * *" and schedules["evening"].timezone == "UTC"
        morning = schedules["cron 0 9 * * 1-5"]
        assert morning.timezone == "Europe/Lisbon" and morning.input == {"message": "Plan my day"}
        assert morning.created_by == user
        # audit: the creation, and one entry per schedule
        actions = sorted(AuditLogEntry.objects.filter(agent=agent).values_list("action", flat=True))
        assert actions == ["agent.created", "schedule.created", "schedule.created"]

    def test_name_alone_is_enough(self, api, user):
        response = api(user).post(URL, {"name": "Plain"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["data"]["seed_counts"] == {"memory": 0, "rules": 0, "skills": 0, "tasks": 0}
        assert response.json()["data"]["operating_prompt_id"] is None
        agent = Agent.objects.get(name="Plain")
        assert agent.config["tools"] == [] and agent.config["model"]["provider"] == "echo"

    def test_seed_style_model_ids(self, api, user, fake_provider):
        response = api(user).post(URL, {"name": "Seedy", "ai_model_id": "fake/gpt-main",
                                        "fallback_model_ids": ["openai/@cf/meta/llama"]},
                                  format="json")
        assert response.status_code == 201, response.content
        config = Agent.objects.get(name="Seedy").config
        assert config["model"]["provider"] == "fake" and config["model"]["model"] == "gpt-main"
        assert config["fallback_models"] == [{"provider": "openai", "model": "@cf/meta/llama"}]

    def test_a_skill_name_already_in_the_library_gets_a_free_one_unless_the_content_is_the_same(self, api, user):
        # given
        Skill.objects.create(owner=user, name="Summarise", content="Three bullets.")
        # when
        response = api(user).post(URL, {"name": "Skilled", "training": {"skills": [
            {"name": "Summarise", "content": "Five bullets."}, {"name": "Summarise", "content": "Three bullets."},
            {"name": "Summarise", "content": "One line."}]}}, format="json")
        # then
        assert response.status_code == 201, response.content
        names = sorted(AgentSkill.objects.filter(agent__name="Skilled").values_list("skill__name", flat=True))
        assert names == ["Summarise", "Summarise (2)", "Summarise (3)"]
        assert Skill.objects.get(name="Summarise (2)").content == "Five bullets."
        assert Skill.objects.filter(owner=user).count() == 3

    def test_connector_tile_ids_become_unique_tool_ids(self, api, user):
        response = api(user).post(URL, {"name": "Tools", "connectors": [
            {"tile_id": "web search!", "node_type": "http_request"}, {"tile_id": "web search!", "node_type": "http"},
            {"node_type": "knowledge-search"}]}, format="json")
        assert response.status_code == 201, response.content
        tools = Agent.objects.get(name="Tools").config["tools"]
        assert [(t["id"], t["type"]) for t in tools] == [
            ("web-search", "http_request"), ("web-search-2", "http_request"), ("knowledge_search", "knowledge_search")]

    def test_derived_task_names_never_take_a_given_one(self, api, user):
        # given: the second task is named what the first one's name would be derived as
        payload = {"name": "Busy", "training": {"tasks": [
            {"cron": "0 9 * * *", "prompt": "a"}, {"cron": "0 10 * * *", "prompt": "b", "name": "cron 0 9 * * *"},
            {"cron": "0 9 * * *", "prompt": "c"}]}}
        # when
        response = api(user).post(URL, payload, format="json")
        # then
        assert response.status_code == 201, response.content
        names = {s.input["message"]: s.name for s in Schedule.objects.filter(agent__name="Busy")}
        assert names == {"a": "cron 0 9 * * * (2)", "b": "cron 0 9 * * *", "c": "cron 0 9 * * * (3)"}


@pytest.mark.django_db
class TestNames:
    def test_a_name_you_already_use_is_409_as_check_name_says_duplicate(self, api, user, make_agent):
        # given
        existing = make_agent(user, name="Iris")
        check = api(user).get("/api/v1/agents/check-name", {"name": "Iris"}).json()["data"]
        assert check == {"available": False, "reason": "duplicate", "conflict_id": str(existing.pk)}
        before = _counts()
        # when
        response = api(user).post(URL, {**IRIS, "model": {"provider": "echo", "model": "echo"}}, format="json")
        # then
        body = problem(response, 409, "name_taken")
        assert body["errors"] == {"name": ["Already in use."]}
        assert _counts() == before

    def test_another_users_name_is_free(self, api, user, make_user, make_agent):
        make_agent(make_user("bob"), name="Iris")
        response = api(user).post(URL, {"name": "Iris"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["data"]["slug"] == "iris-2"

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101, 42, None])
    def test_an_invalid_name_is_400_as_check_name_says_invalid(self, api, user, name):
        if isinstance(name, str):
            check = api(user).get("/api/v1/agents/check-name", {"name": name}).json()["data"]
            assert check["reason"] == "invalid"
        before = _counts()
        body = problem(api(user).post(URL, {"name": name}, format="json"), 400, "validation_error")
        assert list(body["errors"]) == ["name"]
        assert _counts() == before

    def test_missing_name_is_400(self, api, user):
        body = problem(api(user).post(URL, {"personality": "x"}, format="json"), 400, "validation_error")
        assert body["errors"] == {"name": ["This field is required."]}


@pytest.mark.django_db
class TestAllOrNothing:
    @pytest.mark.parametrize("payload, path", [
        (_training(tasks=[{"cron": "0 9 * * *", "prompt": "ok"}, {"cron": "61 9 * * *", "prompt": "bad"}]),
         "training.tasks[1].cron"),
        (_training(tasks=[{"cron": "0 9 * *", "prompt": "four fields"}]), "training.tasks[0].cron"),
        (_training(tasks=[{"cron": "0 0 31 2 *", "prompt": "never fires"}]), "training.tasks[0].cron"),
        (_training(tasks=[{"cron": "0 9 * * *", "prompt": "x", "timezone": "Mars/Olympus"}]),
         "training.tasks[0].timezone"),
        (_training(tasks=[{"cron": "0 9 * * *", "prompt": "x", "name": "a"}, {"cron": "0 9 * * *", "prompt": "y",
                                                                            "name": "a"}]),
         "training.tasks[1].name"),
        (_with(connectors=[{"tile_id": "x", "node_type": "telepathy"}]), "connectors[0].node_type"),
        (_training(memory=[{"content": "x", "type": "rule"}]), "training.memory[0].type"),
        (_training(rules=[{"category": "must"}]), "training.rules[0].content"),
        (_training(skills=[{"description": "nameless"}]), "training.skills[0].name"),
        (_training(homework=[]), "training.homework"),
        (_with(model={"provider": "nope", "model": "x"}), "model.provider"),
        (_with(model={"provider": "fake", "model": "gpt-9"}), "model.model"),
        (_with(fallback_models=[{"provider": "openai", "model": "a"}, {"provider": "fake", "model": "gpt-9"}]),
         "fallback_models[1].model"),
        (_with(model=None, ai_model_id="no-slash"), "ai_model_id"),
        (_with(context_policy={"kind": "forget"}), "context_policy.kind"),
        (_with(wizard_step=3), "wizard_step"),
    ])
    def test_any_invalid_part_is_400_at_its_path_and_nothing_is_written(self, api, user, fake_provider,
                                                                        payload, path):
        # given
        payload = {k: v for k, v in payload.items() if v is not None}
        before = _counts()
        # when
        response = api(user).post(URL, payload, format="json")
        # then
        body = problem(response, 400, "validation_error")
        assert path in body["errors"], body["errors"]
        assert _counts() == before


@pytest.mark.django_db
class TestAccess:
    def test_token_without_write_scope_is_403(self, api, user):
        problem(api(user, scopes=["agents:read", "agents:run"]).post(URL, {"name": "X"}, format="json"),
                403, "permission_denied")
        assert not Agent.objects.exists()

    def test_anonymous_is_401(self, api):
        problem(api().post(URL, {"name": "X"}, format="json"), 401, "not_authenticated")

    def test_any_user_may_create_and_becomes_owner(self, api, make_user):
        newcomer = make_user("newcomer")
        response = api(newcomer).post(URL, {"name": "Mine"}, format="json")
        assert response.status_code == 201, response.content
        agent = Agent.objects.get(pk=response.json()["data"]["agent_id"])
        assert agent.owner == newcomer
        detail = api(newcomer).get(f"/api/v1/agents/{agent.slug}")
        assert detail.json()["data"]["role"] == "owner"
        assert detail["ETag"] == response["ETag"]

    def test_get_is_not_allowed(self, api, user):
        problem(api(user).get(URL), 405, "method_not_allowed")
