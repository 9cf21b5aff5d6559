"""The knowledge tab: who sees it, the documents table and its live status
partial, search, uploads and deletion through the knowledge services."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import AuditLogEntry
from executions.knowledge.models import Document, DocumentStatus
from executions.knowledge.services.ingestion import document_ingest
from executions.models import Execution
from tests.executions.knowledge.documents import PAGE_17_SENTENCE, pdf_bytes


def page_url(agent, rest=""):
    return f"/agents/{agent.slug}/knowledge/{rest}"


def make_document(agent, document_id, *, status=DocumentStatus.READY, **fields):
    return Document.objects.create(agent=agent, document_id=document_id, filename=f"{document_id}.md", kind="md",
                                   file_size=100, sha256="0" * 64, storage_name=f"x/{document_id}", status=status,
                                   **fields)


def field_errors(response, field: str) -> str:
    html = response.content.decode()
    start = html.index(f'data-field="{field}"')
    block = html[start:html.index("</div>", start)]
    assert 'class="errorlist"' in block, block
    return block


def upload(client, agent, *files, **fields):
    return client.post(page_url(agent), {"files": list(files), **fields})


def audit_count(agent) -> int:
    return AuditLogEntry.objects.filter(agent_ref=agent.pk).count()


# --- the pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role, status", [("owner", 200), ("viewer", 200), (None, 404)])
@pytest.mark.parametrize("rest", ["", "status/"])
def test_pages_by_role(client, agent, owner, make_user, add_member, role, status, rest):
    user = owner if role == "owner" else make_user()
    if role == "viewer":
        add_member(agent, user, "viewer")
    client.force_login(user)
    assert client.get(page_url(agent, rest)).status_code == status


def test_anonymous_is_sent_to_log_in(client, agent):
    response = client.get(page_url(agent))
    assert response.status_code == 302 and response["Location"] == f"/login/?next={page_url(agent)}"


def test_viewer_sees_documents_and_search_but_no_upload_or_delete(client, agent, make_user, add_member):
    viewer = make_user()
    add_member(agent, viewer, "viewer")
    make_document(agent, "handbook")
    client.force_login(viewer)
    html = client.get(page_url(agent)).content.decode()
    assert "handbook.md" in html and 'name="query"' in html
    assert 'id="upload-form"' not in html and ">Delete<" not in html and "knowledge.js" not in html


def test_the_table_polls_while_a_document_processes_and_stops_when_all_are_done(client, agent, owner):
    # given
    make_document(agent, "ready-one")
    busy = make_document(agent, "busy-one", status=DocumentStatus.PROCESSING, progress=40)
    client.force_login(owner)
    # when
    polling = client.get(page_url(agent, "status/")).content.decode()
    busy.status, busy.error = DocumentStatus.FAILED, "The PDF is encrypted; upload it without a password."
    busy.save()
    settled = client.get(page_url(agent, "status/")).content.decode()
    # then
    assert f'hx-get="/agents/{agent.slug}/knowledge/status/" hx-trigger="every 1s"' in polling
    assert "2 documents: 1 ready, 1 processing, 0 failed." in polling
    assert '<span class="meta">40%</span>' in polling
    assert "hx-trigger" not in settled
    assert "2 documents: 1 ready, 0 processing, 1 failed." in settled
    assert '<p class="errorlist doc-error">The PDF is encrypted; upload it without a password.</p>' in settled


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("rest", ["", "status/"])
def test_documents_cost_the_same_queries_for_one_or_many(client, agent, owner, django_assert_num_queries, rest):
    client.force_login(owner)
    make_document(agent, "one")
    one = queries_for(client, page_url(agent, rest))
    for n in range(12):
        make_document(agent, f"doc-{n}", status=DocumentStatus.PROCESSING if n % 2 else DocumentStatus.FAILED)
    with django_assert_num_queries(one):
        assert client.get(page_url(agent, rest)).status_code == 200


# --- search --------------------------------------------------------------------------------------

@pytest.fixture
def manual(agent, owner, client, django_capture_on_commit_callbacks):
    """A 20-page PDF uploaded through the console and ingested here."""
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False):
        upload(client, agent, SimpleUploadedFile("manual.pdf", pdf_bytes(20)))
    document = Document.objects.get(agent=agent)
    document_ingest(document.execution_id)
    return document


def test_search_shows_the_passage_with_its_document_page_and_retriever(client, agent, manual):
    response = client.get(page_url(agent), {"query": "lighthouse keeper tide tables"})
    html = response.content.decode()
    assert response.status_code == 200
    first = html[html.index('<li class="hit card">'):]
    first = first[:first.index("</li>")]
    assert "<strong>manual.pdf</strong>" in first and "<span>page 17</span>" in first
    assert "found by full-text search" in first and "score " in first
    assert PAGE_17_SENTENCE in first
    assert "No embedding model is configured, so this is full-text search only." in html


def test_search_answers_htmx_with_the_results_alone(client, agent, manual):
    response = client.get(page_url(agent, "search/"), {"query": "tide tables", "top_k": "1"},
                          HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<li class="hit card">') == 1
    assert "<html" not in html and "<span>page 17</span>" in html


def test_search_without_htmx_goes_to_the_page(client, agent, owner):
    client.force_login(owner)
    response = client.get(page_url(agent, "search/"), {"query": "tide"})
    assert response.status_code == 302 and response["Location"] == page_url(agent) + "?query=tide"


def test_a_search_the_api_refuses_is_refused_beside_the_field(client, agent, owner):
    client.force_login(owner)
    response = client.get(page_url(agent), {"query": "tide", "top_k": "0"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in field_errors(response, "top_k")
    assert '<li class="hit card">' not in response.content.decode()


def test_a_search_that_finds_nothing_says_so(client, agent, manual):
    html = client.get(page_url(agent), {"query": "zeppelin"}).content.decode()
    assert "No passage matches “zeppelin”." in html


# --- uploads ---------------------------------------------------------------------------------------

def test_admin_uploads_several_files_at_once(client, agent, make_user, add_member,
                                             django_capture_on_commit_callbacks):
    # given
    admin = make_user()
    add_member(agent, admin, "admin")
    client.force_login(admin)
    audited = audit_count(agent)
    # when
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(client, agent, SimpleUploadedFile("manual.pdf", pdf_bytes(2)),
                          SimpleUploadedFile("notes.md", b"# Parking\n\nVisitors park in bay seven."),
                          tags="ops, visitors", description="Front desk")
    # then
    assert response.status_code == 302 and response["Location"] == page_url(agent)
    documents = {d.filename: d for d in Document.objects.filter(agent=agent)}
    assert set(documents) == {"manual.pdf", "notes.md"}
    for document in documents.values():
        assert document.status == DocumentStatus.PROCESSING
        assert (document.tags, document.description, document.uploaded_by) == (["ops", "visitors"], "Front desk",
                                                                               admin)
        assert Execution.objects.get(pk=document.execution_id).trigger == "knowledge"
    assert (documents["manual.pdf"].kind, documents["notes.md"].kind) == ("pdf", "md")
    # one ingestion task each, sent once committed
    assert sum("document_upload" in callback.__qualname__ for callback in queued) == 2
    assert audit_count(agent) == audited
    page = client.get(page_url(agent)).content.decode()
    assert "Uploaded manual.pdf, notes.md: processing." in page


def test_an_unsupported_file_is_refused_beside_the_field_and_the_others_still_upload(
        client, agent, owner, django_capture_on_commit_callbacks):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(client, agent, SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
                          SimpleUploadedFile("notes.txt", b"plain words"))
    assert response.status_code == 415
    assert "photo.png: " in field_errors(response, "files")
    assert "Uploaded notes.txt: processing." in response.content.decode()
    assert list(Document.objects.values_list("filename", flat=True)) == ["notes.txt"]


def test_a_file_past_the_limit_is_refused_while_it_streams(client, agent, owner, settings):
    settings.AGENTRY_KNOWLEDGE_MAX_BYTES = 100
    client.force_login(owner)
    response = upload(client, agent, SimpleUploadedFile("big.txt", b"x" * 5000))
    assert response.status_code == 413
    assert "The file is larger than the 100 bytes allowed" in field_errors(response, "files")
    assert not Document.objects.exists()


def test_bad_tags_are_refused_beside_their_field(client, agent, owner):
    client.force_login(owner)
    response = upload(client, agent, SimpleUploadedFile("notes.txt", b"plain words"), tags="x" * 65)
    assert response.status_code == 400
    assert "no more than 64 characters" in field_errors(response, "tags")
    assert not Document.objects.exists()


def test_no_file_is_refused_beside_the_field(client, agent, owner):
    client.force_login(owner)
    response = client.post(page_url(agent), {"tags": "x"})
    assert response.status_code == 400
    assert "This field is required." in field_errors(response, "files")


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_lower_roles_cannot_upload_or_delete(client, agent, make_user, add_member, role):
    user = make_user()
    add_member(agent, user, role)
    make_document(agent, "keep")
    client.force_login(user)
    assert upload(client, agent, SimpleUploadedFile("notes.txt", b"words")).status_code == 403
    assert client.post(page_url(agent, "keep/delete/")).status_code == 403
    assert list(Document.objects.values_list("document_id", flat=True)) == ["keep"]


def test_upload_needs_the_csrf_token(agent, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = upload(client, agent, SimpleUploadedFile("notes.txt", b"words"))
    assert response.status_code == 403
    assert not Document.objects.exists()


# --- deletion --------------------------------------------------------------------------------------

def test_admin_deletes_a_document(client, agent, manual):
    response = client.post(page_url(agent, f"{manual.document_id}/delete/"))
    assert response.status_code == 302 and response["Location"] == page_url(agent)
    assert not Document.objects.filter(pk=manual.pk).exists()
    assert "Deleted manual.pdf" in client.get(page_url(agent)).content.decode()
    assert '<li class="hit card">' not in client.get(page_url(agent), {"query": "tide"}).content.decode()


def test_deleting_an_unknown_document_is_not_found(client, agent, owner):
    client.force_login(owner)
    assert client.post(page_url(agent, "nope/delete/")).status_code == 404


def test_the_delete_form_asks_first(client, agent, owner):
    make_document(agent, "handbook")
    client.force_login(owner)
    assert 'data-confirm="Delete handbook.md and its passages?"' in client.get(page_url(agent)).content.decode()
