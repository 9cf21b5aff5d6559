"""The template catalog: GET /agents/templates and POST /agents with
"template"; every template is created and run against the fake LLM server."""

import pytest

from agents.models import Agent, AgentSkill, AuditLogEntry, Schedule, Skill
from agents.services.templates import CATALOG_DIR, catalog
from executions.engine.graph import validate_pipeline
from tests.conftest import META_KEYS, problem
from tests.fakes.llm_server import Reply

pytestmark = pytest.mark.django_db

TEMPLATE_KEYS = {"id", "title", "description", "category", "tags", "node_types", "schedules_count"}
FAKE_MODEL = {"provider": "fake", "model": "gpt-main"}


def create(client, **body):
    return client.post("/api/v1/agents", body, format="json")


def create_runnable(client, template_id) -> str:
    """Create an agent from the template and point it at the fake LLM server; its slug."""
    response = create(client, template=template_id)
    assert response.status_code == 201, response.content
    slug = response.json()["data"]["slug"]
    patch = client.patch(f"/api/v1/agents/{slug}", {"config": {"model": FAKE_MODEL}}, format="json")
    assert patch.status_code == 200, patch.content
    return slug


def invoke(client, slug, run_input):
    response = client.post(f"/api/v1/agents/{slug}/invoke", {"input": run_input}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["status"] == "succeeded", data
    return data["output"]


# --- the list ---------------------------------------------------------------------------------

def test_list_describes_every_template(api, user):
    response = api(user, scopes=["agents:read"]).get("/api/v1/agents/templates")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"data", "meta"} and set(body["meta"]) == META_KEYS
    templates = body["data"]
    assert len(templates) >= 6 and body["meta"]["total"] == len(templates)
    assert all(set(t) == TEMPLATE_KEYS for t in templates)
    assert [t["id"] for t in templates] == sorted(catalog())
    by_id = {t["id"]: t for t in templates}
    assert by_id["support-triage"]["node_types"] == ["input", "llm_call", "condition", "template", "output"]
    assert by_id["knowledge-qa"]["node_types"] == ["input", "knowledge_search", "llm_call", "output"]
    assert by_id["web-assistant"]["node_types"] == ["agent"]
    assert by_id["daily-digest"]["schedules_count"] == 1
    assert by_id["translator"]["category"] == "writing" and by_id["translator"]["tags"] == ["writing", "translation"]
    assert body["meta"]["has_more"] is False and body["meta"]["next_cursor"] is None


def test_list_filters_by_category(api, user):
    templates = api(user).get("/api/v1/agents/templates?category=writing").json()["data"]
    assert {t["id"] for t in templates} == {"summarizer", "translator"}


def test_list_pages_with_limit_and_cursor(api, user):
    client = api(user)
    first = client.get("/api/v1/agents/templates?limit=2&sort=-id").json()
    assert [t["id"] for t in first["data"]] == sorted(catalog(), reverse=True)[:2]
    assert first["meta"]["has_more"] is True
    second = client.get(f"/api/v1/agents/templates?limit=2&sort=-id&cursor={first['meta']['next_cursor']}").json()
    assert [t["id"] for t in second["data"]] == sorted(catalog(), reverse=True)[2:4]
    assert second["meta"]["offset"] == 2 and second["meta"]["prev_cursor"]
    problem(client.get("/api/v1/agents/templates?cursor=garbage"), 400, "invalid_cursor")
    problem(client.get("/api/v1/agents/templates?limit=501"), 400, "validation_error")


def test_list_needs_authentication(api):
    problem(api().get("/api/v1/agents/templates"), 401, "not_authenticated")


# --- creating from a template -------------------------------------------------------------------

@pytest.mark.parametrize("template_id", sorted(catalog()))
def test_every_template_creates_a_valid_agent(api, user, template_id):
    # given
    template = catalog()[template_id]["agent"]

    # when
    response = create(api(user), template=template_id)

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["name"] == template["name"] and data["role"] == "owner"
    assert data["description"] == template["description"] and data["tags"] == template["tags"]
    assert data["config"]["model"]["provider"] == "openai"
    agent = Agent.objects.get(pk=data["id"])
    assert agent.pipeline == validate_pipeline(template.get("pipeline"))[0]
    assert agent.schedules.count() == len(template.get("schedules", []))
    skills = AgentSkill.objects.filter(agent=agent).select_related("skill")
    assert [link.skill.name for link in skills] == [s["name"] for s in template.get("skills", [])]
    assert all(link.skill.owner == user and link.skill.source == f"template:{template_id}" for link in skills)
    assert AuditLogEntry.objects.filter(agent=agent, action="agent.created").count() == 1


def test_fields_given_with_a_template_override_it(api, user):
    response = create(api(user), template="summarizer", name="Digest Writer", slug="digest-writer",
                      description="Mine", tags=["mine"], config={"instructions": "Be terse.",
                                                                 "model": {"model": "gpt-4o"}})

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["name"], data["slug"], data["description"], data["tags"]) == (
        "Digest Writer", "digest-writer", "Mine", ["mine"])
    assert data["config"]["instructions"] == "Be terse."
    assert data["config"]["model"]["provider"] == "openai" and data["config"]["model"]["model"] == "gpt-4o"
    assert data["config"]["model"]["params"]["temperature"] == 0.3  # the rest of the template's config stays


def test_a_second_agent_from_the_same_template_gets_a_numbered_name(api, user):
    client = api(user)
    first = create(client, template="daily-digest").json()["data"]
    second = create(client, template="daily-digest").json()["data"]
    assert (first["name"], first["slug"]) == ("Daily Digest", "daily-digest")
    assert (second["name"], second["slug"]) == ("Daily Digest 2", "daily-digest-2")
    assert Skill.objects.filter(owner=user, name="Digest format").count() == 1  # reused, not copied
    assert Schedule.objects.filter(agent__owner=user, primary=True).count() == 2


def test_an_explicit_name_that_is_taken_is_409(api, user, make_agent):
    make_agent(user, name="Mine")
    problem(create(api(user), template="summarizer", name="Mine"), 409, "name_taken")


@pytest.mark.parametrize("template", ["no-such-template", 7, None])
def test_unknown_template_is_400(api, user, template):
    body = problem(create(api(user), template=template, name="X"), 400, "validation_error")
    assert set(body["errors"]) == {"template"}
    assert not Agent.objects.exists()


def test_bad_override_is_400_and_nothing_is_created(api, user):
    body = problem(create(api(user), template="daily-digest", config={"model": {"provider": "nope"}}),
                   400, "validation_error")
    assert set(body["errors"]) == {"config.model.provider"}
    assert not Agent.objects.exists() and not Skill.objects.exists() and not Schedule.objects.exists()


def test_a_catalog_file_imports_as_it_is(api, user):
    text = (CATALOG_DIR / "daily-digest.yaml").read_bytes()

    response = api(user).post("/api/v1/agents/import", data=text, content_type="application/yaml")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["created"] == ["daily-digest"]
    assert Agent.objects.get(slug="daily-digest").schedules.get().primary


# --- every template runs ---------------------------------------------------------------------

def test_knowledge_qa_answers_from_the_search(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "knowledge-qa")

    output = invoke(client, slug, {"message": "What is the refund policy?"})

    assert output.startswith("echo: Passages:")
    assert "(no passages found)" in output and output.endswith("Question: What is the refund policy?")
    system = llm.requests[-1].body["messages"][0]
    assert system["role"] == "system" and "only the numbered passages" in system["content"]
    assert llm.requests[-1].body["model"] == "gpt-main"


def test_summarizer_summarises_within_the_budget(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "summarizer")
    llm.enqueue(Reply(text="A short summary."))

    output = invoke(client, slug, {"message": "A very long article.", "max_words": 50})

    assert output == "A short summary."
    prompt = llm.requests[-1].body["messages"][-1]["content"]
    assert "in at most 50 words" in prompt and prompt.endswith("A very long article.")


def test_translator_translates_into_the_target_language(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "translator")
    llm.enqueue(Reply(text="Bonjour"))

    output = invoke(client, slug, {"message": "Good morning", "target_language": "French"})

    assert output == "Bonjour"
    messages = llm.requests[-1].body["messages"]
    assert "into French" in messages[0]["content"] and messages[1]["content"] == "Good morning"


def test_translator_needs_a_target_language(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "translator")
    response = client.post(f"/api/v1/agents/{slug}/invoke", {"input": {"message": "Hi"}}, format="json")
    assert response.status_code == 400, response.content


def test_support_triage_escalates_urgent_messages(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "support-triage")
    llm.enqueue(Reply(text="Urgent"))

    output = invoke(client, slug, {"message": "The site is down", "customer_email": "ann@example.com"})

    assert output == {"route": "escalate", "summary": "URGENT from ann@example.com: The site is down"}
    assert len(llm.requests) == 1  # the reply branch never ran


def test_support_triage_drafts_a_reply_to_routine_messages(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "support-triage")
    llm.enqueue(Reply(text="routine"), Reply(text="Thanks! Here is how to reset it."))

    output = invoke(client, slug, {"message": "How do I reset my password?"})

    assert output == {"route": "reply", "reply": "Thanks! Here is how to reset it."}
    assert "Draft a short reply" in llm.requests[-1].body["messages"][0]["content"]


def test_web_research_fetches_the_url_and_answers(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "web-research")
    url = f"{llm.url}/v1/models"

    output = invoke(client, slug, {"url": url, "question": "Which models are listed?"})

    assert output["source"] == url and output["status"] == 200
    assert output["answer"].startswith("echo: Question: Which models are listed?")
    assert '"id": "fake"' in output["answer"]  # the fetched JSON reached the prompt


def test_daily_digest_runs_with_its_schedules_input(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "daily-digest")
    schedule = Schedule.objects.get(agent__slug=slug)
    assert (schedule.cron, schedule.timezone, schedule.primary, schedule.enabled) == ("0 8 * * 1-5", "UTC", True, True)

    output = invoke(client, slug, schedule.input)

    assert output == "echo: Write today's digest.\nTopics: product updates, industry news"


def test_web_assistant_calls_its_fetch_tool(api, user, llm):
    client = api(user)
    slug = create_runnable(client, "web-assistant")
    url = f"{llm.url}/v1/models"
    llm.enqueue(Reply(tool_calls=[("fetch_url", {"url": url})]), Reply(text="It lists one model: fake."))

    output = invoke(client, slug, {"message": f"What does {url} list?"})

    assert output == "It lists one model: fake."
    first, second = llm.requests[-2:]
    assert [tool["function"]["name"] for tool in first.body["tools"]] == ["fetch_url"]
    tool_result = next(m for m in second.body["messages"] if m["role"] == "tool")
    assert '"status": 200' in tool_result["content"] and '"id": "fake"' in tool_result["content"]


def test_every_template_has_a_run_test():
    tested = {"knowledge-qa", "summarizer", "translator", "support-triage", "web-research", "daily-digest",
              "web-assistant"}
    assert set(catalog()) == tested
