"""Export and import (API.md §7): GET /agents/{agent}/export, POST /agents/export,
POST /agents/import."""

import copy
import json

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.actor import Actor
from agents.models import Agent, AgentSkill, AuditLogEntry, Schedule, Skill
from agents.services.schedules import schedule_create
from core import crypto
from tests.conftest import problem

pytestmark = pytest.mark.django_db

SECRET = "sk-live-SECRET-123"
DOCUMENT_KEYS = ["format", "format_version", "agent"]
AGENT_PART_KEYS = ["slug", "name", "description", "tags", "status", "config", "secret_env", "pipeline", "skills",
                   "schedules"]
PIPELINE = {
    "nodes": [
        {"id": "input", "type": "input", "data": {"schema": {
            "type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}},
        {"id": "answer", "type": "llm_call", "data": {"user_prompt_template": "{{input.message}} ({{env.REGION}})"}},
        {"id": "output", "type": "output", "data": {"mapping": "{{nodes.answer.output}}"}},
    ],
    "edges": [{"id": "e1", "source": "input", "target": "answer"},
              {"id": "e2", "source": "answer", "target": "output"}],
}


@pytest.fixture
def rich_agent(make_agent, user):
    """An agent with everything an export carries: tags, a multi-line prompt,
    plain and secret env values, a pipeline, two skills and two schedules."""
    agent = make_agent(
        user, name="Support Bot", slug="support-bot", description="Überblick — answers tickets ✓",
        tags=["support", "beta"],
        config={"instructions": "Be kind.\nBe brief.", "model": {"provider": "openai", "model": "gpt-4o-mini"},
                "env": {"REGION": "eu", "API_KEY": {"value": SECRET, "secret": True}},
                "tools": [{"id": "kb", "type": "knowledge_search", "config": {"query": "{{input.message}}"}}]},
        pipeline=PIPELINE,
    )
    for name, content in (("Tone", "Friendly, short."), ("Refunds", "Refunds within 30 days.\nNo questions.")):
        skill = Skill.objects.create(owner=user, name=name, description=f"{name} rules", content=content,
                                     tags=["support"])
        AgentSkill.objects.create(agent=agent, skill=skill, connected_by=user)
    actor = Actor(user=user)
    schedule_create(agent=agent, actor=actor, primary=True, data={
        "name": "Morning", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "input": {"message": "Report"}})
    schedule_create(agent=agent, actor=actor, data={"name": "Nightly", "cron": "30 2 * * *", "enabled": False})
    return agent


def export(client, agent_ref, fmt=None):
    query = f"?format={fmt}" if fmt else ""
    return client.get(f"/api/v1/agents/{agent_ref}/export{query}")


def import_(client, body, content_type="application/json", strategy=None):
    query = f"?strategy={strategy}" if strategy else ""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    return client.post(f"/api/v1/agents/import{query}", data=body, content_type=content_type)


def counts():
    return (Agent.objects.count(), Skill.objects.count(), AgentSkill.objects.count(), Schedule.objects.count())


# --- export ---------------------------------------------------------------------------------

def test_export_json_is_the_agent_without_ids_timestamps_history_or_secrets(api, user, rich_agent):
    # when
    response = export(api(user), "support-bot", "json")

    # then
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="support-bot.agent.json"'
    document = response.json()
    assert list(document) == DOCUMENT_KEYS
    assert document["format"] == "agentry.agent" and document["format_version"] == 1
    agent = document["agent"]
    assert list(agent) == AGENT_PART_KEYS
    assert agent["slug"] == "support-bot" and agent["name"] == "Support Bot"
    assert agent["description"] == "Überblick — answers tickets ✓"
    assert agent["tags"] == ["support", "beta"] and agent["status"] == "active"
    assert agent["config"]["instructions"] == "Be kind.\nBe brief."
    assert agent["config"]["env"] == {"REGION": "eu"}
    assert agent["secret_env"] == ["API_KEY"]
    assert agent["pipeline"] == PIPELINE
    assert agent["skills"] == [
        {"name": "Tone", "description": "Tone rules", "content": "Friendly, short.", "tags": ["support"]},
        {"name": "Refunds", "description": "Refunds rules", "content": "Refunds within 30 days.\nNo questions.",
         "tags": ["support"]},
    ]
    assert agent["schedules"] == [
        {"name": "Morning", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "input": {"message": "Report"},
         "enabled": True, "primary": True},
        {"name": "Nightly", "cron": "30 2 * * *", "timezone": "UTC", "input": {}, "enabled": False,
         "primary": False},
    ]
    body = response.content.decode()
    assert SECRET not in body and "ciphertext" not in body
    assert str(rich_agent.pk) not in body and str(user.pk) not in body
    assert "created_at" not in body and "revision" not in body
    entry = AuditLogEntry.objects.get(agent=rich_agent, action="agent.exported")
    assert entry.changes == {"export": {"old": None, "new": {"format": "json", "bundle": False}}}


def test_export_yaml_is_the_same_document(api, user, rich_agent):
    client = api(user)

    response = client.get(f"/api/v1/agents/{rich_agent.pk}/export?format=yaml", HTTP_ACCEPT="application/yaml")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/yaml"
    assert response["Content-Disposition"] == 'attachment; filename="support-bot.agent.yaml"'
    text = response.content.decode()
    assert SECRET not in text and "ciphertext" not in text
    assert "&id" not in text and "*id" not in text  # no anchors: import refuses aliases
    assert "instructions: |" in text  # multi-line strings stay readable
    assert list(yaml.safe_load(text)) == DOCUMENT_KEYS
    assert yaml.safe_load(text) == export(client, "support-bot").json()  # json is the default


def test_export_unknown_format_is_400(api, user, rich_agent):
    body = problem(export(api(user), "support-bot", "xml"), 400, "validation_error")
    assert set(body["errors"]) == {"format"}
    assert not AuditLogEntry.objects.filter(action="agent.exported").exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_cannot_export(api, user, make_user, add_member, rich_agent, role):
    member = make_user()
    add_member(rich_agent, member, role)
    problem(export(api(member), "support-bot"), 403, "permission_denied")


def test_admin_can_export(api, make_user, add_member, rich_agent):
    admin = make_user()
    add_member(rich_agent, admin, "admin")
    assert export(api(admin), "support-bot", "yaml").status_code == 200


def test_non_member_gets_404(api, make_user, rich_agent):
    problem(export(api(make_user()), "support-bot"), 404, "not_found")


def test_export_needs_the_write_scope(api, user, rich_agent):
    problem(export(api(user, scopes=["agents:read"]), "support-bot"), 403, "permission_denied")


def test_export_needs_authentication(api, rich_agent):
    problem(export(api(), "support-bot"), 401, "not_authenticated")


# --- bundle -----------------------------------------------------------------------------------

def test_bundle_holds_the_agents_you_own_or_administer_with_counts(api, user, make_user, make_agent, add_member,
                                                                    rich_agent):
    # given: alice owns two agents, administers one of bob's and only views another
    other = make_user("bob")
    make_agent(user, name="Zeta", slug="zeta")
    administered = make_agent(other, name="Bobs", slug="bobs-agent")
    viewed = make_agent(other, name="Viewed", slug="viewed")
    make_agent(other, name="Private", slug="private")
    add_member(administered, user, "admin")
    add_member(viewed, user, "viewer")

    # when
    response = api(user).post("/api/v1/agents/export")

    # then
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    bundle = response.json()
    assert list(bundle) == ["format", "format_version", "counts", "agents"]
    assert bundle["format"] == "agentry.bundle" and bundle["format_version"] == 1
    assert [a["slug"] for a in bundle["agents"]] == ["bobs-agent", "support-bot", "zeta"]
    assert bundle["counts"] == {"agents": 3, "schedules": 2, "skills": 2}
    assert all(list(agent) == AGENT_PART_KEYS for agent in bundle["agents"])
    assert SECRET not in response.content.decode()
    assert AuditLogEntry.objects.filter(action="agent.exported").count() == 3


def test_bundle_as_yaml(api, user, rich_agent):
    response = api(user).post("/api/v1/agents/export?format=yaml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    bundle = yaml.safe_load(response.content)
    assert bundle["counts"] == {"agents": 1, "schedules": 2, "skills": 2}


def test_bundle_for_a_user_without_agents_is_empty(api, make_user):
    bundle = api(make_user()).post("/api/v1/agents/export").json()
    assert bundle["agents"] == [] and bundle["counts"] == {"agents": 0, "schedules": 0, "skills": 0}


def test_bundle_needs_the_write_scope(api, user):
    problem(api(user, scopes=["agents:read"]).post("/api/v1/agents/export"), 403, "permission_denied")


# --- import -----------------------------------------------------------------------------------

@pytest.fixture
def document(api, user, rich_agent):
    """The rich agent's export, under another slug and name, so importing it creates an agent."""
    document = export(api(user), "support-bot").json()
    document["agent"].update(slug="support-bot-eu", name="Support Bot EU")
    return document


def test_import_json_creates_the_agent_for_the_caller(api, make_user, document):
    # given
    importer = make_user("carol")

    # when
    response = import_(api(importer), document)

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"data": {"created": ["support-bot-eu"], "updated": [], "skipped": [],
                                        "secrets_to_set": {"support-bot-eu": ["API_KEY"]}}}
    agent = Agent.objects.get(slug="support-bot-eu")
    assert agent.owner == importer and agent.name == "Support Bot EU"
    assert agent.members.get().user == importer
    assert agent.pipeline == PIPELINE
    assert agent.config["env"] == {"REGION": {"value": "eu", "secret": False}}
    assert [t.name for t in agent.tag_rows.all()] == ["support", "beta"]
    skills = Skill.objects.filter(owner=importer).order_by("name")
    assert [(s.name, s.source) for s in skills] == [("Refunds", "import"), ("Tone", "import")]
    assert set(AgentSkill.objects.filter(agent=agent).values_list("skill__name", flat=True)) == {"Tone", "Refunds"}
    assert list(agent.schedules.values_list("name", "cron", "timezone", "enabled", "primary")) == [
        ("Morning", "0 9 * * 1-5", "Europe/Paris", True, True), ("Nightly", "30 2 * * *", "UTC", False, False)]
    actions = list(AuditLogEntry.objects.filter(agent=agent).order_by("created_at").values_list("action", flat=True))
    assert actions[0] == "agent.created" and actions[-1] == "agent.imported"
    assert actions.count("schedule.created") == 2
    imported = AuditLogEntry.objects.get(agent=agent, action="agent.imported")
    assert imported.changes == {"import": {"old": None, "new": {"strategy": "seed_only", "result": "created"}}}
    assert imported.actor == importer


@pytest.mark.parametrize("content_type", ["application/yaml", "application/x-yaml", "text/yaml"])
def test_import_yaml(api, user, make_user, rich_agent, content_type):
    text = export(api(user), "support-bot", "yaml").content.decode()
    text = text.replace("slug: support-bot", "slug: from-yaml").replace("name: Support Bot", "name: From YAML")

    response = import_(api(make_user()), text, content_type=content_type)

    assert response.status_code == 200, response.content
    assert response.json()["data"]["created"] == ["from-yaml"]
    agent = Agent.objects.get(slug="from-yaml")
    assert agent.config["instructions"] == "Be kind.\nBe brief."
    assert agent.description == "Überblick — answers tickets ✓"
    assert agent.schedules.count() == 2


def test_import_reuses_an_identical_skill_and_renames_a_different_one(api, make_user, document):
    importer = make_user()
    Skill.objects.create(owner=importer, name="Tone", content="Friendly, short.")
    Skill.objects.create(owner=importer, name="Refunds", content="Never refund.")

    assert import_(api(importer), document).status_code == 200

    linked = AgentSkill.objects.filter(agent__slug="support-bot-eu")
    assert sorted(linked.values_list("skill__name", flat=True)) == ["Refunds (2)", "Tone"]
    assert Skill.objects.filter(owner=importer).count() == 3


def test_seed_only_skips_existing_slugs(api, user, rich_agent):
    # given the agent's own export
    client = api(user)
    document = export(client, "support-bot").json()
    document["agent"]["description"] = "changed"
    before, revision = counts(), rich_agent.revision

    # when
    response = import_(client, document)

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"created": [], "updated": [], "skipped": ["support-bot"],
                                       "secrets_to_set": {}}
    rich_agent.refresh_from_db()
    assert rich_agent.description == "Überblick — answers tickets ✓" and rich_agent.revision == revision
    assert counts() == before
    assert not AuditLogEntry.objects.filter(action="agent.imported").exists()


def test_seed_only_still_refuses_an_invalid_skipped_item(api, user, rich_agent):
    client = api(user)
    document = export(client, "support-bot").json()
    document["agent"]["status"] = "sleeping"

    body = problem(import_(client, document), 400, "validation_error")

    assert body["errors"] == {"agent.status": ["Must be one of active, paused, disabled."]}


def test_overwrite_conflicts_replaces_the_owners_agent_and_keeps_its_secrets(api, user, rich_agent):
    # given an edited export
    client = api(user)
    document = export(client, "support-bot").json()
    agent_part = document["agent"]
    agent_part["description"] = "Second edition"
    agent_part["config"]["instructions"] = "Be precise."
    agent_part["config"]["env"]["REGION"] = "us"
    agent_part["tags"] = ["support"]
    agent_part["skills"] = [{"name": "Escalation", "description": "", "content": "Call the on-call.", "tags": []}]
    agent_part["schedules"] = [{"name": "Hourly", "cron": "0 * * * *", "timezone": "UTC", "input": {},
                                "enabled": True, "primary": False}]
    revision = rich_agent.revision

    # when
    response = import_(client, document, strategy="overwrite_conflicts")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"created": [], "updated": ["support-bot"], "skipped": [],
                                       "secrets_to_set": {}}
    agent = Agent.objects.get(pk=rich_agent.pk)
    assert agent.revision > revision
    assert agent.description == "Second edition" and agent.config["instructions"] == "Be precise."
    assert agent.config["env"]["REGION"] == {"value": "us", "secret": False}
    assert crypto.decrypt(agent.config["env"]["API_KEY"]["ciphertext"]) == SECRET
    assert [t.name for t in agent.tag_rows.all()] == ["support"]
    assert list(agent.skill_links.values_list("skill__name", flat=True)) == ["Escalation"]
    assert list(agent.schedules.values_list("name", flat=True)) == ["Hourly"]
    assert Skill.objects.filter(name="Tone").exists()  # the library keeps skills no longer linked
    entry = AuditLogEntry.objects.get(agent=agent, action="agent.imported")
    assert entry.changes["import"]["new"] == {"strategy": "overwrite_conflicts", "result": "updated"}
    assert AuditLogEntry.objects.filter(agent=agent, action="agent.replaced").count() == 1
    # and exporting gives back what was imported
    assert export(client, "support-bot").json() == document


def test_overwrite_is_refused_for_an_admin_who_is_not_owner_and_nothing_is_written(
        api, make_user, add_member, rich_agent):
    # given an admin of support-bot importing a bundle: one new agent, then support-bot
    admin = make_user()
    add_member(rich_agent, admin, "admin")
    client = api(admin)
    existing = export(client, "support-bot").json()["agent"]
    new = {**copy.deepcopy(existing), "slug": "brand-new", "name": "Brand New"}
    existing["description"] = "hijacked"
    bundle = {"format": "agentry.bundle", "format_version": 1, "agents": [new, existing]}
    before = counts()

    # when
    response = import_(client, bundle, strategy="overwrite_conflicts")

    # then
    body = problem(response, 403, "permission_denied")
    assert body["errors"] == {"agents[1].slug": ["An agent with this slug exists and you are not its owner."]}
    assert counts() == before
    assert not Agent.objects.filter(slug="brand-new").exists()
    rich_agent.refresh_from_db()
    assert rich_agent.description == "Überblick — answers tickets ✓"


def test_staff_may_overwrite_any_agent(api, make_user, rich_agent, user):
    staff = make_user(is_staff=True)
    document = export(api(user), "support-bot").json()
    document["agent"]["description"] = "by staff"

    response = import_(api(staff), document, strategy="overwrite_conflicts")

    assert response.json()["data"]["updated"] == ["support-bot"]
    rich_agent.refresh_from_db()
    assert rich_agent.description == "by staff" and rich_agent.owner == user


def test_a_bad_item_in_a_bundle_is_named_and_nothing_is_created(api, user, make_user, rich_agent):
    # given a bundle whose second agent names an unknown provider and whose third has a bad cron
    client = api(user)
    good = export(client, "support-bot").json()["agent"]
    items = []
    for n in range(3):
        item = copy.deepcopy(good)
        item.update(slug=f"copy-{n}", name=f"Copy {n}")
        items.append(item)
    items[1]["config"]["model"]["provider"] = "nope"
    items[2]["schedules"][0]["cron"] = "every day"
    before, audit = counts(), AuditLogEntry.objects.count()

    # when
    response = import_(client, {"format": "agentry.bundle", "format_version": 1, "agents": items})

    # then
    body = problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"agents[1].config.model.provider", "agents[2].schedules[0].cron"}
    assert body["detail"].startswith("agents[1].config.model.provider: Unknown provider 'nope'")
    assert counts() == before
    assert AuditLogEntry.objects.count() == audit
    assert not Agent.objects.filter(slug__startswith="copy-").exists()


def test_a_name_clash_is_a_409_naming_the_item(api, user, rich_agent):
    client = api(user)
    document = export(client, "support-bot").json()
    document["agent"]["slug"] = "another-slug"  # same name, which alice already uses

    body = problem(import_(client, document), 409, "name_taken")

    assert body["errors"] == {"agent.name": ["Already in use."]}
    assert not Agent.objects.filter(slug="another-slug").exists()


def test_duplicate_slugs_in_a_bundle_are_refused(api, user, document):
    item = document["agent"]
    bundle = {"format": "agentry.bundle", "format_version": 1, "agents": [item, {**item, "name": "Other"}]}
    body = problem(import_(api(user), bundle), 400, "validation_error")
    assert body["errors"] == {"agents[1].slug": ["Duplicate slug; agents[0] has it too."]}


@pytest.mark.parametrize("change, field", [
    ({"skills": [{"name": ""}]}, "agent.skills[0].name"),
    ({"skills": "many"}, "agent.skills"),
    ({"schedules": [{"cron": "0 9 * * *", "primary": "yes"}]}, "agent.schedules[0].primary"),
    ({"schedules": [{"cron": "0 9 * * *", "primary": True}, {"cron": "0 8 * * *", "primary": True}]},
     "agent.schedules"),
    ({"schedules": [{"cron": "0 9 * * *", "colour": "red"}]}, "agent.schedules[0].colour"),
    ({"secret_env": ["1BAD"]}, "agent.secret_env"),
    ({"owner": "someone"}, "agent.owner"),
    ({"pipeline": {"nodes": [{"id": "x", "type": "teleport"}], "edges": []}}, "agent.pipeline.nodes[0].type"),
])
def test_item_problems_name_the_field(api, user, document, change, field):
    document["agent"].update(change)
    body = problem(import_(api(user), document), 400, "validation_error")
    assert field in body["errors"]
    assert not Agent.objects.filter(slug="support-bot-eu").exists()


@pytest.mark.parametrize("envelope, field", [
    ({"format": "agentry.zip", "format_version": 1, "agent": {}}, "format"),
    ({"format_version": 1, "agent": {}}, "format"),
    ({"format": "agentry.agent", "format_version": 2, "agent": {}}, "format_version"),
    ({"format": "agentry.agent", "format_version": True, "agent": {}}, "format_version"),
    ({"format": "agentry.agent", "agent": {}}, "format_version"),
    ({"format": "agentry.agent", "format_version": 1}, "agent"),
    ({"format": "agentry.bundle", "format_version": 1, "agents": {}}, "agents"),
    ({"format": "agentry.agent", "format_version": 1, "agent": {"name": "x"}, "extra": 1}, "extra"),
    ([1, 2], "non_field_errors"),
])
def test_unknown_or_missing_format_is_400(api, user, envelope, field):
    body = problem(import_(api(user), envelope), 400, "validation_error")
    assert field in body["errors"]


def test_unknown_strategy_is_400(api, user, document):
    body = problem(import_(api(user), document, strategy="merge"), 400, "validation_error")
    assert set(body["errors"]) == {"strategy"}


def test_wrong_content_type_is_415(api, user, document):
    problem(import_(api(user), json.dumps(document), content_type="text/plain"), 415, "unsupported_media_type")
    assert not Agent.objects.filter(slug="support-bot-eu").exists()


@pytest.mark.parametrize("body, content_type", [
    ("format: [unclosed", "application/yaml"),
    ("a: 1\n---\nb: 2\n", "application/yaml"),  # two documents
    ("a: &x [1, 2]\nb: *x\n", "application/yaml"),  # aliases are refused (billion laughs)
    ("a: !!python/object/apply:os.system ['true']\n", "application/yaml"),
    ("{1: 2}", "application/yaml"),
    ("a: .nan", "application/yaml"),
    ('{"format": ', "application/json"),
])
def test_malformed_bodies_are_400(api, user, body, content_type):
    body = problem(import_(api(user), body, content_type=content_type), 400, "validation_error")
    assert body["detail"].startswith("Malformed request body")


def test_yaml_dates_become_strings(api, user, make_user, document):
    text = yaml.safe_dump(document).replace("message: Report", "message: 2026-03-01")
    assert import_(api(make_user()), text, content_type="application/yaml").status_code == 200
    assert Schedule.objects.get(agent__slug="support-bot-eu", name="Morning").input == {"message": "2026-03-01"}


def test_import_needs_the_write_scope(api, user, document):
    problem(import_(api(user, scopes=["agents:read", "agents:run"]), document), 403, "permission_denied")


def test_import_needs_authentication(api, document):
    problem(import_(api(), document), 401, "not_authenticated")


# --- round trip -------------------------------------------------------------------------------

# Outside a test transaction: PostgreSQL cannot TRUNCATE (flush) rows with deferred constraint checks pending.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt, content_type", [("json", "application/json"), ("yaml", "application/yaml")])
def test_export_import_on_a_fresh_database_reproduces_the_export_byte_for_byte(
        api, user, rich_agent, fmt, content_type):
    # given the agent's export, and what it is made of
    original = export(api(user), "support-bot", fmt).content
    schedules = list(Schedule.objects.filter(agent=rich_agent).values("name", "cron", "timezone", "input",
                                                                      "enabled", "primary"))
    config, pipeline = rich_agent.config, rich_agent.pipeline

    # when the database is emptied, a new user imports the document and sets the secret it names
    call_command("flush", interactive=False, verbosity=0)
    assert not Agent.objects.exists() and not get_user_model().objects.exists()
    newcomer = get_user_model().objects.create_user("newcomer", "newcomer@example.com", "pw-123456789")
    client = api(newcomer)
    response = import_(client, original, content_type=content_type)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["secrets_to_set"] == {"support-bot": ["API_KEY"]}
    patch = client.patch("/api/v1/agents/support-bot", {"config": {"env": {"API_KEY": {"value": "new-key",
                                                                                       "secret": True}}}},
                         format="json")
    assert patch.status_code == 200, patch.content

    # then exporting again gives the same bytes, and the same agent
    assert export(client, "support-bot", fmt).content == original
    agent = Agent.objects.get(slug="support-bot")
    assert agent.owner == newcomer
    assert {**agent.config, "env": {}} == {**config, "env": {}}
    assert agent.config["env"]["REGION"] == config["env"]["REGION"]
    assert agent.pipeline == pipeline
    assert list(Schedule.objects.filter(agent=agent).values("name", "cron", "timezone", "input", "enabled",
                                                            "primary")) == schedules
