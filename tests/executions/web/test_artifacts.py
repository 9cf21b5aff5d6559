"""An agent's artifacts tab: the list (constant queries), one artifact with
HTML in a sandboxed frame, download, and delete for admins, through the same
reads and service as ``/api/v1/agents/{agent}/artifacts``."""

import re

import pytest

from accounts.actor import Actor
from agents.models import AuditAction, AuditLogEntry
from executions.conversations.models import Thread
from executions.models import Artifact
from executions.services.artifacts import artifact_create
from tests.executions.web.runs_factories import make_execution

pytestmark = pytest.mark.django_db

SCRIPTED = "<html><body><h1>Q4 plan</h1><script>document.title='pwned'</script></body></html>"


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Report Bot", slug="report-bot")


def save(agent, user, title="Q4 plan", content=SCRIPTED, **fields):
    return artifact_create(agent, actor=Actor(user=user), title=title, content=content, **fields)


def member(client, make_user, add_member, agent, role):
    user = make_user(f"{role}-user")
    add_member(agent, user, role)
    client.force_login(user)
    return user


def urls(artifact):
    base = f"/agents/report-bot/artifacts/{artifact.pk}/"
    return {"detail": base, "download": base + "download/", "delete": base + "delete/"}


# --- who may see it ------------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_log_in(client, agent):
    response = client.get("/agents/report-bot/artifacts/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/agents/report-bot/artifacts/"


def test_non_member_gets_404_for_every_page(client, agent, owner, make_user):
    artifact = save(agent, owner)
    client.force_login(make_user("stranger"))
    responses = [client.get("/agents/report-bot/artifacts/"), client.get(urls(artifact)["detail"]),
                 client.get(urls(artifact)["download"]), client.post(urls(artifact)["delete"])]
    assert [r.status_code for r in responses] == [404] * 4
    assert Artifact.objects.filter(pk=artifact.pk).exists()


def test_viewer_reads_but_sees_no_delete(client, agent, owner, make_user, add_member):
    artifact = save(agent, owner)
    member(client, make_user, add_member, agent, "viewer")

    listed = client.get("/agents/report-bot/artifacts/").content.decode()
    detail = client.get(urls(artifact)["detail"]).content.decode()

    assert "Q4 plan" in listed and urls(artifact)["download"] in listed
    assert urls(artifact)["delete"] not in listed and urls(artifact)["delete"] not in detail
    assert 'href="/agents/report-bot/artifacts/" aria-current="page">Artifacts</a>' in listed


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_a_delete_is_refused_and_changes_nothing(client, agent, owner, make_user, add_member, role):
    artifact = save(agent, owner)
    member(client, make_user, add_member, agent, role)
    response = client.post(urls(artifact)["delete"])
    assert response.status_code == 403
    assert "needs the admin role" in response.content.decode()
    assert Artifact.objects.filter(pk=artifact.pk).exists()
    assert not AuditLogEntry.objects.filter(action=AuditAction.ARTIFACT_DELETED).exists()


def test_another_agents_artifact_is_404_here(client, agent, owner, make_agent):
    elsewhere = save(make_agent(owner, name="Other"), owner)
    client.force_login(owner)
    assert client.get(urls(elsewhere)["detail"]).status_code == 404
    assert client.post(urls(elsewhere)["delete"]).status_code == 404
    assert Artifact.objects.filter(pk=elsewhere.pk).exists()


# --- the list ------------------------------------------------------------------------------------------------

def test_list_shows_title_type_size_date_and_origin(client, agent, owner):
    execution = make_execution(agent)
    thread = Thread.objects.create(agent=agent, created_by=owner)
    from_run = save(agent, owner, "From a run", "héllo", artifact_type="text", execution_id=execution.pk)
    from_chat = save(agent, owner, "From chat", "x" * 2048, artifact_type="html_report", thread=thread)
    client.force_login(owner)

    html = client.get("/agents/report-bot/artifacts/").content.decode()

    run_row = re.search(rf'<tr data-artifact="{from_run.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "<code>text</code>" in run_row and "6\xa0bytes" in run_row  # bytes, not characters
    assert f'href="/executions/{execution.pk}/">Run {str(execution.pk)[:8]}</a>' in run_row
    chat_row = re.search(rf'<tr data-artifact="{from_chat.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "2.0\xa0KB" in chat_row and f'href="/agents/report-bot/chat/{thread.pk}/"' in chat_row
    assert urls(from_chat)["delete"] in chat_row  # the owner may delete
    assert html.index("From chat") < html.index("From a run")  # newest first


def test_an_empty_list_says_how_artifacts_arrive(client, agent, owner):
    client.force_login(owner)
    assert "No artifacts yet." in client.get("/agents/report-bot/artifacts/").content.decode()


def test_list_query_count_does_not_grow(client, agent, owner, django_assert_num_queries):
    save(agent, owner)
    client.force_login(owner)
    client.get("/agents/report-bot/artifacts/")
    with django_assert_num_queries(5) as one:  # session, user, agent with role, count, page
        client.get("/agents/report-bot/artifacts/")
    execution = make_execution(agent)
    for n in range(10):
        save(agent, owner, f"Report {n}", execution_id=execution.pk if n % 2 else None)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/agents/report-bot/artifacts/")
    assert response.content.decode().count("<tr data-artifact=") == 11


# --- filtering the list ---------------------------------------------------------------------------------------

def listed_titles(html):
    return re.findall(r'<tr data-artifact="[^"]+">\s*<th scope="row"><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def three_kinds(agent, owner):
    save(agent, owner, "Weekly", "# w", artifact_type="markdown", tags=["weekly", "ops"])
    save(agent, owner, "Board deck", artifact_type="html_report", tags=["board"])
    save(agent, owner, "Numbers", "{}", artifact_type="json", tags=["ops"])


def test_the_list_offers_the_apis_filters_with_labels(client, agent, owner):
    client.force_login(owner)
    html = client.get("/agents/report-bot/artifacts/").content.decode()
    assert '<form method="get" class="toolbar filters" aria-label="Filter artifacts">' in html
    assert '<label for="id_type">Type</label>' in html and '<label for="id_tag">Tag</label>' in html


@pytest.mark.parametrize(("query", "titles"), [
    ({}, ["Numbers", "Board deck", "Weekly"]),
    ({"type": "markdown"}, ["Weekly"]),
    ({"tag": "ops"}, ["Numbers", "Weekly"]),
    ({"type": "json", "tag": "ops"}, ["Numbers"]),
    ({"type": "", "tag": ""}, ["Numbers", "Board deck", "Weekly"]),
])
def test_filters_narrow_the_rows_as_the_api_does(client, agent, owner, three_kinds, query, titles):
    # given
    client.force_login(owner)

    # when
    html = client.get("/agents/report-bot/artifacts/", query).content.decode()
    api = client.get("/api/v1/agents/report-bot/artifacts", query).json()["data"]

    # then
    assert listed_titles(html) == titles == [row["title"] for row in api]


def test_filters_that_match_nothing_say_so(client, agent, owner, three_kinds):
    client.force_login(owner)
    html = client.get("/agents/report-bot/artifacts/", {"tag": "nowhere"}).content.decode()
    assert listed_titles(html) == []
    assert "No artifacts match these filters." in html and "No artifacts yet." not in html
    assert 'value="nowhere"' in html  # the form keeps what was asked


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"type": "Not A Type!"}, "type", "Lower-case letters, digits, _ . - (at most 64)."),
    ({"tag": "x" * 51}, "tag", "Ensure this value has at most 50 characters (it has 51)."),
])
def test_a_bad_filter_is_a_form_error_not_a_500(client, agent, owner, three_kinds, query, field, message):
    client.force_login(owner)
    response = client.get("/agents/report-bot/artifacts/", query)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<ul class="errorlist" id="id_{field}_error" role="alert"><li>{message}</li></ul>' in html
    assert listed_titles(html) == [] and "Correct the filters to see artifacts." in html


def test_page_links_keep_the_filters(client, agent, owner, monkeypatch):
    # given: more markdown artifacts than a page holds, and one of another type
    monkeypatch.setattr("executions.web.artifacts.ArtifactListView.paginate_by", 2)
    for n in range(3):
        save(agent, owner, f"Note {n}", "# n", artifact_type="markdown", tags=["notes"])
    save(agent, owner, "Other", artifact_type="json", tags=["notes"])
    client.force_login(owner)

    # when
    first = client.get("/agents/report-bot/artifacts/", {"type": "markdown", "tag": "notes"}).content.decode()
    second = client.get("/agents/report-bot/artifacts/",
                        {"type": "markdown", "tag": "notes", "page": "2"}).content.decode()

    # then
    assert listed_titles(first) == ["Note 2", "Note 1"]
    assert 'href="?type=markdown&amp;tag=notes&amp;page=2" rel="next">Older</a>' in first
    assert listed_titles(second) == ["Note 0"]
    assert 'href="?type=markdown&amp;tag=notes&amp;page=1" rel="prev">Newer</a>' in second


def test_filtered_list_query_count_does_not_grow(client, agent, owner, django_assert_num_queries):
    # given
    save(agent, owner, tags=["ops"])
    client.force_login(owner)
    query = {"type": "html_report", "tag": "ops"}
    client.get("/agents/report-bot/artifacts/", query)
    with django_assert_num_queries(5) as one:  # session, user, agent with role, count, page
        client.get("/agents/report-bot/artifacts/", query)
    for n in range(10):
        save(agent, owner, f"Report {n}", tags=["ops"])
        save(agent, owner, f"Untagged {n}")

    # then
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/agents/report-bot/artifacts/", query)
    assert response.content.decode().count("<tr data-artifact=") == 11


def test_a_bad_filter_costs_no_artifact_queries(client, agent, owner, django_assert_num_queries):
    save(agent, owner)
    client.force_login(owner)
    client.get("/agents/report-bot/artifacts/")
    with django_assert_num_queries(3):  # session, user, agent with role
        client.get("/agents/report-bot/artifacts/", {"type": "BAD"})


# --- one artifact --------------------------------------------------------------------------------------------

def test_an_html_artifact_is_framed_sandboxed_from_the_apis_view(client, agent, owner):
    artifact = save(agent, owner)
    client.force_login(owner)

    html = client.get(urls(artifact)["detail"]).content.decode()

    view = f"/api/v1/agents/report-bot/artifacts/{artifact.pk}/view"
    assert re.search(rf'<iframe class="artifact-frame" src="{view}" sandbox=""', html)
    assert "<script>document.title" not in html  # never inlined into the console's page
    # and the frame's source answers the session with the sandboxing headers
    framed = client.get(view, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert framed.status_code == 200 and framed.content.decode() == SCRIPTED
    assert framed["Content-Security-Policy"].startswith("sandbox")
    assert framed["X-Frame-Options"] == "SAMEORIGIN"


def test_a_text_artifact_is_shown_escaped(client, agent, owner):
    artifact = save(agent, owner, "Notes", "<b>bold</b> & more", artifact_type="markdown")
    client.force_login(owner)
    html = client.get(urls(artifact)["detail"]).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more</pre>" in html and "<iframe" not in html


def test_download_is_an_attachment_never_rendered(client, agent, owner, make_user, add_member):
    artifact = save(agent, owner, "Q4 plan: final/v2")
    member(client, make_user, add_member, agent, "viewer")

    response = client.get(urls(artifact)["download"])

    assert response.status_code == 200 and response.content.decode() == SCRIPTED
    assert response["Content-Disposition"] == 'attachment; filename="Q4-plan-final-v2.html"'
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Security-Policy"].startswith("sandbox")


@pytest.mark.parametrize("artifact_type, name", [("markdown", "r.md"), ("data_json", "r.json"), ("text", "r.txt"),
                                                 ("report_html", "r.html")])
def test_download_names_follow_the_type(client, agent, owner, artifact_type, name):
    artifact = save(agent, owner, "r", "x", artifact_type=artifact_type)
    client.force_login(owner)
    assert client.get(urls(artifact)["download"])["Content-Disposition"] == f'attachment; filename="{name}"'


# --- deleting ------------------------------------------------------------------------------------------------

def test_admin_deletes_through_the_service_with_its_audit_entry(client, agent, owner, make_user, add_member):
    artifact = save(agent, owner)
    admin = member(client, make_user, add_member, agent, "admin")

    response = client.post(urls(artifact)["delete"], follow=True, REMOTE_ADDR="203.0.113.7")

    assert response.redirect_chain == [("/agents/report-bot/artifacts/", 302)]
    assert "Artifact “Q4 plan” deleted." in response.content.decode()
    assert not Artifact.objects.filter(pk=artifact.pk).exists()
    entry = AuditLogEntry.objects.get(action=AuditAction.ARTIFACT_DELETED)
    assert (entry.agent, entry.actor, entry.ip) == (agent, admin, "203.0.113.7")
    assert entry.changes["artifact"]["old"]["title"] == "Q4 plan"


def test_delete_needs_a_post(client, agent, owner):
    artifact = save(agent, owner)
    client.force_login(owner)
    assert client.get(urls(artifact)["delete"]).status_code == 405
    assert Artifact.objects.filter(pk=artifact.pk).exists()
