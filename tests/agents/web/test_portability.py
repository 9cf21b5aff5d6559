"""Export (tab, admins, POST download) and import (upload, strategy, summary) in the console (test client)."""

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actor import Actor
from agents.models import Agent, AuditLogEntry
from agents.services import exporting
from tests.agents.web.lifecycle import (
    assert_page_access,
    client_for,
    field_errors,
    flashes,
    form_errors,
    soup,
    status_for,
)

pytestmark = pytest.mark.django_db
IMPORT = "/agents/import/"


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, "Portable", slug="portable", config={
        "instructions": "be portable", "env": {"PLAIN": "x", "TOKEN": {"value": "s3cret", "secret": True}}})


def export_url(agent):
    return f"/agents/{agent.slug}/export/"


def document(agent, owner):
    return exporting.agent_export(agent=agent, actor=Actor(user=owner), fmt="json")


def upload(name, content, strategy="seed_only"):
    data = content if isinstance(content, bytes) else content.encode()
    return {"file": SimpleUploadedFile(name, data), "strategy": strategy}


def test_export_tab_is_for_admins(agent, owner, make_user, add_member):
    admin, viewer, stranger = make_user("admin"), make_user("viewer"), make_user("stranger")
    add_member(agent, admin, "admin")
    add_member(agent, viewer, "viewer")
    assert_page_access(export_url(agent), allowed=[owner, admin], refused_404=[stranger])
    assert status_for(viewer, export_url(agent)) == 403
    assert client_for(viewer).post(export_url(agent), {"format": "json"}).status_code == 403
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="agent.exported").exists()


def test_opening_the_tab_exports_nothing_and_names_the_left_out_secrets(agent, owner):
    page = soup(client_for(owner).get(export_url(agent)))
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="agent.exported").exists()
    assert "TOKEN" in page.select_one(".message--warning").get_text()
    assert [b.get_text(strip=True) for b in page.select("main form button")] == ["Download JSON", "Download YAML"]


@pytest.mark.parametrize("fmt, content_type, load", [("json", "application/json", json.loads),
                                                     ("yaml", "application/yaml", yaml.safe_load)])
def test_download_is_the_apis_document_and_is_audited(agent, owner, fmt, content_type, load):
    response = client_for(owner).post(export_url(agent), {"format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="portable.agent.{fmt}"'
    body = load(response.content.decode())
    assert body["format"] == "agentry.agent"
    assert body["agent"]["config"]["instructions"] == "be portable"
    assert body["agent"]["secret_env"] == ["TOKEN"]
    assert "s3cret" not in response.content.decode()
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="agent.exported")
    assert entry.changes == {"export": {"old": None, "new": {"format": fmt, "bundle": False}}}
    assert entry.actor == owner


def test_an_unknown_format_is_an_error_and_exports_nothing(agent, owner):
    response = client_for(owner).post(export_url(agent), {"format": "xml"})
    assert response.status_code == 200
    assert "Select a valid choice" in soup(response).select_one(".errorlist--form").get_text()
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="agent.exported").exists()


def test_import_page_needs_a_login(make_user):
    response = client_for(make_user("someone")).get(IMPORT)
    assert response.status_code == 200
    assert soup(response).find("input", attrs={"type": "file", "name": "file"}) is not None
    assert_page_access(IMPORT, allowed=[], refused_404=[])


def test_import_creates_the_agents_and_shows_the_summary(agent, owner, make_user):
    doc = document(agent, owner)
    doc["agent"]["slug"] = "portable-copy"
    carol = make_user("carol")
    response = client_for(carol).post(IMPORT, upload("copy.json", json.dumps(doc)), REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    copy = Agent.objects.get(slug="portable-copy")
    assert (copy.owner, copy.config["instructions"]) == (carol, "be portable")
    summary = soup(response).find(id="import-summary")
    assert summary.find("a", href="/agents/portable-copy/") is not None
    assert "TOKEN" in summary.select_one(".message--warning").get_text()
    assert flashes(response) == ["Imported: 1 created, 0 updated, 0 skipped."]
    entry = AuditLogEntry.objects.get(agent_ref=copy.pk, action="agent.imported")
    assert entry.changes == {"import": {"old": None, "new": {"strategy": "seed_only", "result": "created"}}}
    assert (entry.actor, entry.ip) == (carol, "203.0.113.5")


def test_seed_only_skips_and_overwrite_replaces_yaml_too(agent, owner):
    doc = document(agent, owner)
    doc["agent"]["config"]["instructions"] = "imported"
    text = yaml.safe_dump(doc)
    client = client_for(owner)
    skipped = client.post(IMPORT, upload("portable.yaml", text, "seed_only"))
    assert flashes(skipped) == ["Imported: 0 created, 0 updated, 1 skipped."]
    assert Agent.objects.get(pk=agent.pk).config["instructions"] == "be portable"
    updated = client.post(IMPORT, upload("portable.yml", text, "overwrite_conflicts"))
    assert flashes(updated) == ["Imported: 0 created, 1 updated, 0 skipped."]
    stored = Agent.objects.get(pk=agent.pk).config
    assert stored["instructions"] == "imported"
    assert stored["env"]["TOKEN"]["secret"] is True  # the secret the document leaves out is kept


def test_overwriting_someone_elses_agent_is_refused_on_the_form(agent, owner, make_user, add_member):
    admin = make_user("admin")
    add_member(agent, admin, "admin")
    response = client_for(admin).post(IMPORT, upload("p.json", json.dumps(document(agent, owner)),
                                                     "overwrite_conflicts"))
    assert response.status_code == 200
    assert form_errors(response) == ["agent.slug: An agent with this slug exists and you are not its owner."]
    assert Agent.objects.get(pk=agent.pk).owner == owner


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", "{not json", "JSON parse error"),
    ("bad.yaml", "a: &x 1\nb: *x\n", "YAML aliases"),
    ("agent.txt", "{}", "Upload a .json or .yaml file, as exported."),
])
def test_unreadable_files_are_errors_beside_the_file_field(owner, name, content, message):
    response = client_for(owner).post(IMPORT, upload(name, content))
    assert response.status_code == 200
    errors = field_errors(response, "file")
    assert len(errors) == 1 and message in errors[0]
    assert Agent.objects.count() == 0


def test_an_invalid_document_names_the_item_and_field_and_writes_nothing(agent, owner):
    doc = document(agent, owner)
    doc["agent"]["slug"] = "new-one"
    doc["agent"]["config"]["model"] = {"provider": "nope", "model": "x"}
    response = client_for(owner).post(IMPORT, upload("bad.json", json.dumps(doc)))
    assert response.status_code == 200
    errors = form_errors(response)
    assert errors and errors[0].startswith("agent.config.model.provider:")
    assert not Agent.objects.filter(slug="new-one").exists()


def test_an_unknown_strategy_is_an_error_beside_it(owner, agent):
    response = client_for(owner).post(IMPORT, upload("p.json", json.dumps(document(agent, owner)), "yolo"))
    assert field_errors(response, "strategy") == [
        "Select a valid choice. yolo is not one of the available choices."]
