"""An agent's artifacts: save, list (filters, no content, capped pages),
detail, delete, the sandboxed view, validation, size limit and roles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actor import Actor
from agents.models import AuditLogEntry
from agents.services.skills import skill_create
from executions.conversations.models import Thread
from executions.models import Artifact
from executions.services.artifacts import ARTIFACT_CONTENT_MAX_BYTES, artifact_create
from tests.conftest import META_KEYS, problem
from tests.role_matrix import Endpoint, RoleMatrix

LIST_KEYS = {"id", "agent_id", "thread_id", "execution_id", "skill_id", "title", "artifact_type", "summary", "tags",
             "metadata", "created_by", "created_at", "updated_at"}
CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Report Bot", slug="report-bot")


def url(agent, suffix=""):
    return f"/api/v1/agents/{agent.slug}/artifacts{suffix}"


def save(agent, owner, title="Report", content="<p>hi</p>", *, ago=None, **fields):
    artifact = artifact_create(agent, actor=Actor(user=owner), title=title, content=content, **fields)
    if ago is not None:
        Artifact.objects.filter(pk=artifact.pk).update(created_at=timezone.now() - ago)
    return artifact


# --- saving -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_save_answers_201_with_id_title_and_type(api, owner, agent):
    thread = Thread.objects.create(agent=agent, created_by=owner)
    skill = skill_create(actor=Actor(user=owner), name="Reports")
    body = {"title": "Q4 Marketing Plan", "content": "<html><body>Plan</body></html>", "thread_id": str(thread.pk),
            "summary": "Quarterly roadmap", "skill_id": str(skill.pk), "tags": ["marketing", "q4"],
            "metadata": {"pages": 1}}

    response = api(owner).post(url(agent), body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    artifact = Artifact.objects.get()
    assert data == {"artifact_id": str(artifact.pk), "title": "Q4 Marketing Plan", "artifact_type": "html_report"}
    assert (artifact.agent, artifact.thread, artifact.skill, artifact.created_by) == (agent, thread, skill, owner)
    assert (artifact.content, artifact.summary, artifact.tags, artifact.metadata) == (
        "<html><body>Plan</body></html>", "Quarterly roadmap", ["marketing", "q4"], {"pages": 1})
    entry = AuditLogEntry.objects.get(agent=agent, action="artifact.created")
    assert entry.actor == owner and entry.changes["artifact"]["new"]["title"] == "Q4 Marketing Plan"


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({"content": "x"}, "title"),
    ({"title": "t"}, "content"),
    ({"title": "t", "content": ""}, "content"),
    ({"title": "t" * 201, "content": "x"}, "title"),
    ({"title": "t", "content": "x", "artifact_type": "HTML Report!"}, "artifact_type"),
    ({"title": "t", "content": "x", "tags": "one"}, "tags"),
    ({"title": "t", "content": "x", "metadata": []}, "metadata"),
    ({"title": "t", "content": "x", "thread_id": "nope"}, "thread_id"),
    ({"title": "t", "content": "x", "thread_id": "00000000-0000-0000-0000-000000000000"}, "thread_id"),
    ({"title": "t", "content": "x", "skill_id": "00000000-0000-0000-0000-000000000000"}, "skill_id"),
    ({"title": "t", "content": "x", "colour": "red"}, "colour"),
])
def test_save_refuses_bad_input(api, owner, agent, body, field):
    assert field in problem(api(owner).post(url(agent), body, format="json"), 400, "validation_error")["errors"]
    assert not Artifact.objects.exists()


@pytest.mark.django_db
def test_save_refuses_another_agents_thread_and_another_users_skill(api, owner, agent, make_agent, make_user):
    other_thread = Thread.objects.create(agent=make_agent(owner, name="Other"), created_by=owner)
    their_skill = skill_create(actor=Actor(user=make_user()), name="Theirs")
    client = api(owner)

    body = problem(client.post(url(agent), {"title": "t", "content": "x", "thread_id": str(other_thread.pk)},
                               format="json"), 400, "validation_error")
    assert body["errors"] == {"thread_id": ["Not a thread of this agent."]}
    body = problem(client.post(url(agent), {"title": "t", "content": "x", "skill_id": str(their_skill.pk)},
                               format="json"), 400, "validation_error")
    assert body["errors"] == {"skill_id": ["No skill with this id in your library."]}
    assert not Artifact.objects.exists()


@pytest.mark.django_db
def test_content_over_two_megabytes_is_413(api, owner, agent):
    too_big = "é" * (ARTIFACT_CONTENT_MAX_BYTES // 2 + 1)  # fewer characters than the limit, more bytes

    body = problem(api(owner).post(url(agent), {"title": "big", "content": too_big}, format="json"),
                   413, "payload_too_large")

    assert "content" in body["errors"]
    assert not Artifact.objects.exists()
    ok = api(owner).post(url(agent), {"title": "fits", "content": "a" * ARTIFACT_CONTENT_MAX_BYTES}, format="json")
    assert ok.status_code == 201


# --- reading ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_list_is_newest_first_without_content(api, owner, agent):
    save(agent, owner, "old", ago=timedelta(days=2))
    save(agent, owner, "new", ago=timedelta(hours=1))

    body = api(owner).get(url(agent)).json()

    assert [a["title"] for a in body["data"]] == ["new", "old"]
    assert set(body["data"][0]) == LIST_KEYS and set(body["meta"]) == META_KEYS
    assert body["data"][0]["agent_id"] == str(agent.pk) and body["data"][0]["artifact_type"] == "html_report"


@pytest.mark.django_db
def test_list_filters_by_type_and_tag(api, owner, agent):
    save(agent, owner, "plan", tags=["marketing", "q4"])
    save(agent, owner, "notes", artifact_type="markdown", tags=["q4"])
    save(agent, owner, "data", artifact_type="json", tags=["q4x"])
    client = api(owner)

    def titles(query):
        return sorted(a["title"] for a in client.get(url(agent) + query).json()["data"])

    assert titles("?type=markdown") == ["notes"]
    assert titles("?tag=q4") == ["notes", "plan"]
    assert titles("?tag=marketing&type=html_report") == ["plan"]
    assert titles("?tag=q") == []
    assert client.get(url(agent) + "?tag=q4").json()["meta"]["total"] == 2


@pytest.mark.django_db
def test_list_pages_hold_at_most_100(api, owner, agent):
    Artifact.objects.bulk_create([Artifact(agent=agent, title=f"a{n}", content="x") for n in range(101)])

    body = api(owner).get(url(agent) + "?limit=100").json()

    assert len(body["data"]) == 100 and body["meta"]["has_more"] is True
    assert len(api(owner).get(url(agent)).json()["data"]) == 50
    problem(api(owner).get(url(agent) + "?limit=101"), 400, "validation_error")


@pytest.mark.django_db
def test_list_query_count_does_not_grow(api, owner, agent, make_user, django_assert_max_num_queries):
    client = api(owner)
    save(agent, owner, "first")
    client.get(url(agent))
    with django_assert_max_num_queries(4) as few:
        client.get(url(agent))
    for n in range(15):
        save(agent, make_user(), f"a{n}")

    with django_assert_max_num_queries(len(few.captured_queries)) as captured:
        assert len(client.get(url(agent)).json()["data"]) == 16

    assert all('"content"' not in q["sql"] for q in captured.captured_queries)


@pytest.mark.django_db
def test_detail_includes_content_and_others_are_404(api, owner, agent, make_agent):
    artifact = save(agent, owner, "Plan", "<h1>Plan</h1>")
    elsewhere = save(make_agent(owner, name="Other"), owner, "Elsewhere")

    data = api(owner).get(url(agent, f"/{artifact.pk}")).json()["data"]

    assert set(data) == LIST_KEYS | {"content"} and data["content"] == "<h1>Plan</h1>"
    problem(api(owner).get(url(agent, f"/{elsewhere.pk}")), 404, "not_found")
    problem(api(owner).get(url(agent, "/not-a-uuid")), 404, "not_found")


@pytest.mark.django_db
def test_delete_answers_204_and_records_it(api, owner, agent):
    artifact = save(agent, owner)

    assert api(owner).delete(url(agent, f"/{artifact.pk}")).status_code == 204

    assert not Artifact.objects.exists()
    assert AuditLogEntry.objects.get(agent=agent, action="artifact.deleted").changes["artifact"]["old"]["id"] == \
        str(artifact.pk)


# --- viewing ------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_view_serves_html_sandboxed(api, owner, agent):
    artifact = save(agent, owner, content="<script>fetch('/api/v1/auth/tokens')</script><p>report</p>")

    response = api(owner).get(url(agent, f"/{artifact.pk}/view"), HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response.content.decode() == "<script>fetch('/api/v1/auth/tokens')</script><p>report</p>"


@pytest.mark.django_db
def test_view_serves_other_types_as_plain_text(api, owner, agent):
    artifact = save(agent, owner, content="# <b>notes</b>", artifact_type="markdown")

    response = api(owner).get(url(agent, f"/{artifact.pk}/view"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Security-Policy"] == CSP and response["X-Content-Type-Options"] == "nosniff"
    assert response.content == "# <b>notes</b>".encode()


@pytest.mark.django_db
def test_view_of_a_missing_artifact_is_a_json_problem(api, owner, agent):
    response = api(owner).get(url(agent, "/00000000-0000-0000-0000-000000000000/view"), HTTP_ACCEPT="text/html")

    problem(response, 404, "not_found")


# --- roles and scopes -----------------------------------------------------------------------------------------

class TestRoles(RoleMatrix):
    collection = "artifacts"
    endpoints = [
        Endpoint("list", "get", "", None, "viewer", "agents:read", 200),
        Endpoint("retrieve", "get", "/{target}", None, "viewer", "agents:read", 200),
        Endpoint("view", "get", "/{target}/view", None, "viewer", "agents:read", 200),
        Endpoint("save", "post", "", {"title": "new", "content": "<p>new</p>"}, "operator", "agents:run", 201),
        Endpoint("delete", "delete", "/{target}", None, "admin", "agents:write", 204),
    ]

    def existing(self, agent, owner):
        return save(agent, owner, "existing")

    def state(self, agent):
        return list(Artifact.objects.values_list("title", flat=True))
