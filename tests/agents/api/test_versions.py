"""Versions: save, list, get, diff, rollback (API.md §7)."""

import pytest

from accounts.roles import Role
from agents.models import AgentVersion, AuditLogEntry
from agents.services.versions import content_hash
from tests.conftest import META_KEYS, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, "Versioned", config={"instructions": "first", "env": {"TOKEN": {"value": "s3cret",
                                                                                             "secret": True}}})


def _patch(client, agent, config):
    response = client.patch(f"/api/v1/agents/{agent.slug}", {"config": config}, format="json")
    assert response.status_code == 200, response.content
    return response


def _save(client, agent, changelog=""):
    response = client.post(f"/api/v1/agents/{agent.slug}/versions", {"changelog": changelog}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def test_save_snapshots_config_and_pipeline_with_index_author_and_hash(api, owner, agent):
    client = api(owner)
    data = _save(client, agent, "Initial")
    assert data["index"] == 1
    assert data["changelog"] == "Initial"
    assert data["author"] == {"id": str(owner.pk), "email": owner.email}
    assert data["config"]["instructions"] == "first"
    assert data["config"]["env"] == {"TOKEN": {"secret": True}}  # never the secret
    assert data["pipeline"] == {"nodes": [], "edges": []}
    agent.refresh_from_db()
    assert data["content_hash"] == content_hash(agent.config, agent.pipeline)
    assert _save(client, agent)["index"] == 2  # saving is explicit: it always adds a version
    audit = AuditLogEntry.objects.filter(agent_ref=agent.pk, action="version.saved").order_by("created_at")
    assert [entry.changes["version"]["new"] for entry in audit] == [1, 2]
    assert audit[0].changes["changelog"]["new"] == "Initial"


def test_list_newest_first_without_snapshots_and_bounded_queries(api, owner, agent, django_assert_max_num_queries):
    client = api(owner)
    for n in range(3):
        _patch(client, agent, {"instructions": f"edit {n}"})
        _save(client, agent, f"edit {n}")
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/agents/{agent.slug}/versions")
    body = response.json()
    assert response.status_code == 200
    assert set(body["meta"]) == META_KEYS and body["meta"]["total"] == 3
    assert [v["index"] for v in body["data"]] == [3, 2, 1]
    assert set(body["data"][0]) == {"index", "changelog", "author", "content_hash", "created_at"}
    cursor = client.get(f"/api/v1/agents/{agent.slug}/versions?limit=2").json()["meta"]["next_cursor"]
    rest = client.get(f"/api/v1/agents/{agent.slug}/versions?limit=2&cursor={cursor}").json()
    assert [v["index"] for v in rest["data"]] == [1]


def test_get_version_and_unknown_index(api, owner, agent):
    client = api(owner)
    _save(client, agent)
    response = client.get(f"/api/v1/agents/{agent.id}/versions/1")
    assert response.status_code == 200
    assert response.json()["data"]["config"]["instructions"] == "first"
    problem(client.get(f"/api/v1/agents/{agent.slug}/versions/2"), 404, "not_found")
    problem(client.get(f"/api/v1/agents/{agent.slug}/versions/nope"), 404, "not_found")


def test_rollback_after_two_edits_restores_exactly_version_one(api, owner, agent):
    client = api(owner)
    pipeline = {"nodes": [
        {"id": "in", "type": "input", "data": {"schema": {"type": "object"}}},
        {"id": "out", "type": "output", "data": {"mapping": "v1"}},
    ], "edges": [{"id": "e1", "source": "in", "target": "out"}]}
    client.patch(f"/api/v1/agents/{agent.slug}", {"pipeline": pipeline}, format="json")
    _save(client, agent, "v1")
    version_one = AgentVersion.objects.get(agent=agent, index=1)
    _patch(client, agent, {"instructions": "second", "max_iterations": 3, "env": {"TOKEN": None}})
    client.patch(f"/api/v1/agents/{agent.slug}", {"pipeline": {"nodes": [
        {"id": "in", "type": "input", "data": {}}, {"id": "out", "type": "output", "data": {"mapping": "v3"}},
    ], "edges": [{"id": "e1", "source": "in", "target": "out"}]}}, format="json")
    etag_before = client.get(f"/api/v1/agents/{agent.slug}")["ETag"]

    response = client.post(f"/api/v1/agents/{agent.slug}/versions/1/rollback")

    assert response.status_code == 200, response.content
    assert response["ETag"] != etag_before
    agent.refresh_from_db()
    assert agent.config == version_one.config  # the secret is back, byte for byte
    assert agent.pipeline == version_one.pipeline
    assert content_hash(agent.config, agent.pipeline) == version_one.content_hash
    assert response.json()["data"]["config"]["instructions"] == "first"
    entry = AuditLogEntry.objects.filter(agent_ref=agent.pk, action="version.rolled_back").get()
    assert entry.changes["rolled_back_to"]["new"] == 1
    assert entry.changes["config.instructions"] == {"old": "second", "new": "first"}
    assert entry.actor == owner
    assert AgentVersion.objects.filter(agent=agent).count() == 1  # rollback edits the draft only


def test_diff_names_the_changed_field(api, owner, agent):
    client = api(owner)
    _save(client, agent)
    _patch(client, agent, {"model": {"provider": "echo", "model": "echo-2"}})
    _save(client, agent)

    body = client.get(f"/api/v1/agents/{agent.slug}/versions/1/diff/2").json()["data"]

    assert body["a"] == "v1" and body["b"] == "v2"
    assert body["changes"] == {"config.model.model": {"old": "echo", "new": "echo-2"}}
    assert '-      "model": "echo",' in body["unified"]
    assert '+      "model": "echo-2",' in body["unified"]
    assert body["unified"].startswith("--- v1\n+++ v2\n")


def test_diff_against_the_draft_and_unknown_versions(api, owner, agent):
    client = api(owner)
    _save(client, agent)
    _patch(client, agent, {"instructions": "changed"})
    body = client.get(f"/api/v1/agents/{agent.slug}/versions/1/diff/draft").json()["data"]
    assert body["changes"] == {"config.instructions": {"old": "first", "new": "changed"}}
    same = client.get(f"/api/v1/agents/{agent.slug}/versions/1/diff/1").json()["data"]
    assert same["changes"] == {} and same["unified"] == ""
    problem(client.get(f"/api/v1/agents/{agent.slug}/versions/1/diff/9"), 404, "not_found")


def test_changelog_is_validated(api, owner, agent):
    client = api(owner)
    body = problem(client.post(f"/api/v1/agents/{agent.slug}/versions", {"changelog": "x" * 1001}, format="json"),
                   400, "validation_error")
    assert "changelog" in body["errors"]
    problem(client.post(f"/api/v1/agents/{agent.slug}/versions", {"changelog": ["a"]}, format="json"),
            400, "validation_error")
    assert not AgentVersion.objects.exists()


def test_stats_count_versions(api, owner, agent):
    client = api(owner)
    _save(client, agent)
    _save(client, agent)
    assert client.get(f"/api/v1/agents/{agent.slug}").json()["data"]["stats"]["versions"] == 2
    assert client.get("/api/v1/agents").json()["data"][0]["stats"]["versions"] == 2


@pytest.mark.parametrize("role, read, write", [
    (Role.VIEWER, 200, 403), (Role.OPERATOR, 200, 403), (Role.ADMIN, 200, 201),
])
def test_roles(api, make_user, owner, agent, add_member, role, read, write):
    _save(api(owner), agent)
    member = make_user("member")
    add_member(agent, member, role)
    client = api(member)
    assert client.get(f"/api/v1/agents/{agent.slug}/versions").status_code == read
    assert client.get(f"/api/v1/agents/{agent.slug}/versions/1/diff/draft").status_code == read
    assert client.post(f"/api/v1/agents/{agent.slug}/versions", {}, format="json").status_code == write
    rollback = client.post(f"/api/v1/agents/{agent.slug}/versions/1/rollback")
    assert rollback.status_code == (200 if write == 201 else 403)


def test_scopes_and_strangers(api, make_user, owner, agent):
    _save(api(owner), agent)
    problem(api(owner, scopes=["agents:read"]).post(f"/api/v1/agents/{agent.slug}/versions", {}, format="json"),
            403, "permission_denied")
    problem(api(owner, scopes=["agents:run"]).get(f"/api/v1/agents/{agent.slug}/versions"), 403, "permission_denied")
    stranger = api(make_user("stranger"))
    problem(stranger.get(f"/api/v1/agents/{agent.slug}/versions"), 404, "not_found")
    problem(stranger.post(f"/api/v1/agents/{agent.slug}/versions/1/rollback"), 404, "not_found")
    problem(api().get(f"/api/v1/agents/{agent.slug}/versions"), 401, "not_authenticated")


def test_admin_shows_versions_read_only_without_the_stored_config(api, owner, agent, make_user):
    from django.test import Client

    _save(api(owner), agent, "for the admin")
    staff = make_user("staffer", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(staff)
    listing = browser.get("/admin/agents/agentversion/")
    assert listing.status_code == 200 and b"for the admin" in listing.content
    version = AgentVersion.objects.get(agent=agent)
    detail = browser.get(f"/admin/agents/agentversion/{version.pk}/change/")
    assert detail.status_code == 200
    assert b"ciphertext" not in detail.content
    assert browser.get("/admin/agents/agentversion/add/").status_code == 403
    assert browser.get("/admin/agents/schedule/").status_code == 200
