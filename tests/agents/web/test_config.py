"""The configuration tab and its JSON/YAML editor: who may read and change
it, saves through ``agent_update`` (the service of ``PATCH /agents``) with its
audit entry, secrets that never come back, the service's errors beside the
field or row they name, and a stale form refused instead of overwriting."""

import json

import pytest
import yaml

from accounts.actor import Actor
from agents.models import Agent, AuditAction, AuditLogEntry, Provider
from agents.services import agent_update
from core import crypto
from tests.agents.web.html_forms import field_errors, form_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(owner, make_agent):
    Provider.objects.create(name="fake", kind="openai", base_url="http://fake.invalid/v1",
                            models=[{"name": "gpt-main"}, {"name": "gpt-backup"}])
    return make_agent(owner, "Helpdesk", config={"instructions": "Be kind.", "env": {"REGION": "eu"}})


def url(agent, raw=False):
    return f"/agents/{agent.slug}/configuration/{'raw/' if raw else ''}"


def page_form(client, agent, raw=False, query="") -> dict:
    """The configuration form as the page renders it, ready to post back."""
    response = client.get(url(agent, raw) + query)
    assert response.status_code == 200
    return form_values(response.content.decode(), url(agent, raw))


def updates(agent):
    return AuditLogEntry.objects.filter(agent_ref=agent.pk, action=AuditAction.AGENT_UPDATED)


# --- who may see and change it ----------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_readers_see_the_configuration_without_inputs(client, agent, make_user, add_member, role):
    member = make_user("mia")
    add_member(agent, member, role)
    client.force_login(member)
    for path in (url(agent), url(agent, raw=True)):
        response = client.get(path)
        body = response.content.decode()
        assert response.status_code == 200
        assert "Be kind." in body
        assert '<form method="post" action="/agents/helpdesk/configuration/' not in body
        assert "<textarea" not in body and "Save" not in body
    assert "View as JSON/YAML" in client.get(url(agent)).content.decode()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_lower_role_posting_the_form_anyway_is_refused(client, logged_in, agent, make_user, add_member, role):
    body = page_form(logged_in, agent)
    raw = page_form(logged_in, agent, raw=True)
    member = make_user("mia")
    add_member(agent, member, role)
    client.force_login(member)
    body["instructions"] = raw["document"] = "Hijacked"
    assert client.post(url(agent), body).status_code == 403
    assert client.post(url(agent, raw=True), raw).status_code == 403
    agent.refresh_from_db()
    assert agent.config["instructions"] == "Be kind." and not updates(agent).exists()


def test_non_members_get_404_and_anonymous_users_log_in(client, agent, make_user):
    client.force_login(make_user("stranger"))
    assert client.get(url(agent)).status_code == 404
    assert client.post(url(agent), {"instructions": "x"}).status_code == 404
    assert client.get(url(agent, raw=True)).status_code == 404
    client.logout()
    assert client.get(url(agent))["Location"] == f"/login/?next={url(agent)}"


def test_admin_sees_the_form(client, agent, make_user, add_member):
    admin = make_user("ada")
    add_member(agent, admin, "admin")
    client.force_login(admin)
    body = client.get(url(agent)).content.decode()
    assert "Save configuration" in body and 'name="temperature"' in body
    assert '<datalist id="models-fake"><option value="gpt-main"></option>' in body


# --- saving -------------------------------------------------------------------------------------

def test_saving_writes_the_config_through_the_service_and_audits_it(logged_in, agent, owner):
    # given the form as rendered, changed as a person would
    body = page_form(logged_in, agent)
    body.update({"instructions": "Be brief.", "provider": "fake", "model": "gpt-main", "temperature": "0.2",
                 "max_tokens": "300", "stop": "END\nSTOP", "seed": "7", "context_kind": "summarise",
                 "memory_types": ["conversation", "semantic"], "heartbeat_enabled": "on",
                 "heartbeat_cron": "30 8 * * 1", "heartbeat_timezone": "Europe/Paris",
                 "fallback-0-provider": "fake", "fallback-0-model": "gpt-backup", "fallback-0-ORDER": "1",
                 "tool-0-id": "lookup", "tool-0-type": "http_request", "tool-0-description": "Fetch a page",
                 "tool-0-config": '{"url": "https://example.com/{{input.q}}"}',
                 "env-1-name": "API_TOKEN", "env-1-value": "s3cret-value", "env-1-secret": "on"})
    # when
    response = logged_in.post(url(agent), body, REMOTE_ADDR="10.0.0.9")
    # then
    assert response.status_code == 302 and response["Location"] == url(agent)
    agent.refresh_from_db()
    config = agent.config
    assert config["instructions"] == "Be brief."
    assert config["model"] == {"provider": "fake", "model": "gpt-main", "params": {
        "temperature": 0.2, "max_tokens": 300, "top_p": 1.0, "stop": ["END", "STOP"], "seed": 7}}
    assert config["fallback_models"] == [{"provider": "fake", "model": "gpt-backup"}]
    assert config["tools"] == [{"id": "lookup", "type": "http_request", "description": "Fetch a page",
                                "config": {"url": "https://example.com/{{input.q}}"}}]
    assert config["context_policy"]["kind"] == "summarise"
    assert config["memory"]["types"] == ["conversation", "semantic"]
    assert config["heartbeat"] == {"enabled": True, "cron": "30 8 * * 1", "timezone": "Europe/Paris", "prompt": ""}
    assert config["env"]["REGION"] == {"value": "eu", "secret": False}
    assert config["env"]["API_TOKEN"]["secret"] is True
    assert crypto.decrypt(config["env"]["API_TOKEN"]["ciphertext"]) == "s3cret-value"
    entry = updates(agent).get()
    assert entry.actor == owner and entry.ip == "10.0.0.9"
    assert entry.changes["config.instructions"] == {"old": "Be kind.", "new": "Be brief."}
    # and the page says so
    assert "Configuration saved." in logged_in.get(url(agent)).content.decode()


def test_a_secret_is_never_shown_and_an_empty_value_keeps_it(logged_in, agent):
    body = page_form(logged_in, agent)
    body.update({"env-1-name": "API_TOKEN", "env-1-value": "s3cret-value", "env-1-secret": "on"})
    logged_in.post(url(agent), body)
    page = logged_in.get(url(agent)).content.decode()
    assert "s3cret-value" not in page
    assert "secret set" in page and 'type="password"' in page
    assert "s3cret-value" not in logged_in.get(url(agent, raw=True)).content.decode()
    # saving the form again as shown keeps the secret
    body = page_form(logged_in, agent)
    body["instructions"] = "Changed"
    assert logged_in.post(url(agent), body).status_code == 302
    agent.refresh_from_db()
    assert crypto.decrypt(agent.config["env"]["API_TOKEN"]["ciphertext"]) == "s3cret-value"


def test_removing_a_variable_drops_it(logged_in, agent):
    body = page_form(logged_in, agent)
    assert body["env-0-name"] == "REGION"
    body["env-0-DELETE"] = "on"
    assert logged_in.post(url(agent), body).status_code == 302
    agent.refresh_from_db()
    assert agent.config["env"] == {}


def test_fallbacks_are_saved_in_their_position_order(logged_in, agent):
    body = page_form(logged_in, agent)
    body.update({"fallback-0-provider": "fake", "fallback-0-model": "gpt-backup", "fallback-0-ORDER": "1"})
    logged_in.post(url(agent), body)
    body = page_form(logged_in, agent)
    body.update({"fallback-1-provider": "echo", "fallback-1-model": "echo", "fallback-1-ORDER": "0"})
    assert logged_in.post(url(agent), body).status_code == 302
    agent.refresh_from_db()
    assert agent.config["fallback_models"] == [{"provider": "echo", "model": "echo"},
                                               {"provider": "fake", "model": "gpt-backup"}]


# --- errors beside their fields ----------------------------------------------------------------

def test_a_temperature_out_of_range_is_the_services_error_beside_the_field(logged_in, agent):
    body = page_form(logged_in, agent)
    body["temperature"] = "3"
    response = logged_in.post(url(agent), body)
    assert response.status_code == 400
    assert field_errors(response, "temperature") == ["Ensure this value is less than or equal to 2."]
    assert 'value="3"' in response.content.decode()  # what was typed stays
    agent.refresh_from_db()
    assert agent.config["model"]["params"]["temperature"] == 0.7 and not updates(agent).exists()


def test_a_model_the_provider_does_not_serve_is_refused_beside_the_model(logged_in, agent):
    body = page_form(logged_in, agent)
    body.update({"provider": "fake", "model": "gpt-nope", "fallback-0-provider": "fake",
                 "fallback-0-model": "gpt-other", "fallback-0-ORDER": "1"})
    response = logged_in.post(url(agent), body)
    assert response.status_code == 400
    assert field_errors(response, "model") == [
        "Provider &#x27;fake&#x27; has no model &#x27;gpt-nope&#x27;; its models: gpt-main, gpt-backup."]
    assert field_errors(response, "fallback-0-model")[0].startswith("Provider &#x27;fake&#x27; has no model")
    assert not updates(agent).exists()


def test_row_errors_go_to_their_row(logged_in, agent):
    body = page_form(logged_in, agent)
    body.update({"tool-0-id": "bad id!", "tool-0-type": "template", "tool-0-config": "{}"})
    response = logged_in.post(url(agent), body)
    assert response.status_code == 400
    assert field_errors(response, "tool-0-id") == ["Letters, digits, _ . - (at most 64)."]
    body.update({"tool-0-id": "", "tool-0-type": "", "env-1-name": "9LIVES", "env-1-value": "x"})
    response = logged_in.post(url(agent), body)
    assert response.status_code == 400
    html = response.content.decode()
    row = html[html.index("<legend>Variable 2"):]
    message = "<li>Names are letters, digits and _ and cannot start with a digit.</li>"
    assert row.index(message) < row.index("</fieldset>")
    assert not updates(agent).exists()


def test_invalid_tool_json_and_duplicate_variable_names_are_caught_by_the_form(logged_in, agent):
    body = page_form(logged_in, agent)
    body.update({"tool-0-id": "t", "tool-0-type": "template", "tool-0-config": "{nope",
                 "env-1-name": "REGION", "env-1-value": "us"})
    response = logged_in.post(url(agent), body)
    assert response.status_code == 400
    assert field_errors(response, "tool-0-config")[0].startswith("Not valid JSON: ")
    body["tool-0-config"] = "{}"
    response = logged_in.post(url(agent), body)
    assert field_errors(response, "env-1-name") == ["Another variable has this name."]


def test_a_stale_form_is_refused_and_then_saves_with_the_new_etag(logged_in, agent, owner):
    # given the form was opened, then someone else saved
    body = page_form(logged_in, agent)
    agent_update(agent=agent, actor=Actor(user=owner), changes={"config": {"personality": "Theirs"}})
    body["instructions"] = "Mine"
    # when the stale form is posted
    response = logged_in.post(url(agent), body)
    # then nothing is overwritten, and the page says why
    assert response.status_code == 409
    assert "changed by someone else while you were editing" in response.content.decode()
    agent.refresh_from_db()
    assert agent.config["instructions"] == "Be kind." and agent.config["personality"] == "Theirs"
    # posting the re-rendered form (now carrying the current ETag) saves it
    again = form_values(response.content.decode(), url(agent))
    assert again["instructions"] == "Mine" and again["etag"] != body["etag"]
    assert logged_in.post(url(agent), again).status_code == 302
    agent.refresh_from_db()
    assert agent.config["instructions"] == "Mine"


# --- as JSON or YAML ------------------------------------------------------------------------------

def test_raw_editor_shows_the_definition_as_json_or_yaml(logged_in, agent):
    as_json = json.loads(page_form(logged_in, agent, raw=True)["document"])
    assert as_json["config"]["instructions"] == "Be kind." and as_json["pipeline"] == {"nodes": [], "edges": []}
    as_yaml = yaml.safe_load(page_form(logged_in, agent, raw=True, query="?format=yaml")["document"])
    assert as_yaml == as_json


def test_raw_yaml_replaces_config_and_pipeline_through_the_service(logged_in, agent, owner):
    body = page_form(logged_in, agent, raw=True, query="?format=yaml")
    document = yaml.safe_load(body["document"])
    document["config"]["instructions"] = "From YAML"
    del document["config"]["env"]["REGION"]  # left out: removed
    document["pipeline"] = {"nodes": [{"id": "in", "type": "input", "data": {}},
                                      {"id": "out", "type": "output", "data": {"mapping": "{{input.message}}"}}],
                            "edges": [{"id": "e1", "source": "in", "target": "out"}]}
    body["document"] = yaml.safe_dump(document)
    response = logged_in.post(url(agent, raw=True), body)
    assert response.status_code == 302 and response["Location"] == url(agent, raw=True) + "?format=yaml"
    agent.refresh_from_db()
    assert agent.config["instructions"] == "From YAML" and agent.config["env"] == {}
    assert [n["id"] for n in agent.pipeline["nodes"]] == ["in", "out"]
    assert updates(agent).get().actor == owner


def test_raw_errors_are_listed_with_their_paths(logged_in, agent):
    body = page_form(logged_in, agent, raw=True)
    document = json.loads(body["document"])
    document["config"]["model"]["params"]["temperature"] = 9
    document["pipeline"] = {"nodes": [{"id": "x", "type": "teleport"}], "edges": []}
    body["document"] = json.dumps(document)
    response = logged_in.post(url(agent, raw=True), body)
    assert response.status_code == 400
    errors = field_errors(response, "document")
    assert "config.model.params.temperature: Ensure this value is less than or equal to 2." in errors
    assert any(e.startswith("pipeline.nodes[0].type: Unknown node type") for e in errors)
    assert not updates(agent).exists()


@pytest.mark.parametrize(("fmt", "text", "start"), [
    ("json", '{"config": {', "Not valid JSON: "),
    ("json", '{"config": {"max_iterations": NaN}}', "Not valid JSON: NaN is not a JSON number"),
    ("yaml", "config: [unclosed", "Invalid YAML: "),
    ("json", "[]", 'Must be an object with "config" and "pipeline".'),
    ("json", '{"name": "x"}', "Unknown section name"),
])
def test_raw_documents_that_do_not_parse_are_refused(logged_in, agent, fmt, text, start):
    body = page_form(logged_in, agent, raw=True, query=f"?format={fmt}")
    body["document"] = text
    response = logged_in.post(url(agent, raw=True), body)
    assert response.status_code == 400
    assert field_errors(response, "document")[0].startswith(start.replace('"', "&quot;"))
    assert text in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'") or fmt == "yaml"


def test_raw_stale_document_is_refused(logged_in, agent, owner):
    body = page_form(logged_in, agent, raw=True)
    agent_update(agent=agent, actor=Actor(user=owner), changes={"config": {"personality": "Theirs"}})
    response = logged_in.post(url(agent, raw=True), body)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert Agent.objects.get(pk=agent.pk).config["personality"] == "Theirs"


def test_a_tampered_row_count_is_an_error_not_a_crash(logged_in, agent):
    body = page_form(logged_in, agent)
    del body["tool-TOTAL_FORMS"]
    response = logged_in.post(url(agent), body)
    assert response.status_code == 400
    assert "ManagementForm data is missing or has been tampered with" in response.content.decode()
    assert "Nothing was saved: fix the fields marked below." in response.content.decode()
