"""``/agents/{agent}/knowledge``: uploads, their errors, list, get, delete."""

import pytest

from executions.knowledge.models import Chunk, Document
from executions.models import Execution
from tests.conftest import problem
from tests.executions.knowledge.conftest import ingest, search, upload
from tests.executions.knowledge.documents import PAGE_17_SENTENCE, exe_bytes, markdown_bytes, pdf_bytes


@pytest.mark.django_db
def test_upload_answers_processing_and_queues_a_knowledge_execution(api, owner, agent):
    # when
    response = upload(api(owner), agent, "handbook.pdf", pdf_bytes(3), document_id="handbook",
                      tags="policy,hr", description="The staff handbook")

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert {k: data[k] for k in ("document_id", "filename", "status", "kind", "tags", "description")} == {
        "document_id": "handbook", "filename": "handbook.pdf", "status": "processing", "kind": "pdf",
        "tags": ["policy", "hr"], "description": "The staff handbook"}
    assert data["file_size"] == len(pdf_bytes(3))
    execution = Execution.objects.get(pk=data["execution_id"])
    assert execution.trigger == "knowledge" and execution.status == "queued"
    document = Document.objects.get()
    assert document.storage_name and "handbook" not in document.storage_name  # the name is only metadata


@pytest.mark.django_db
def test_ingested_pdf_is_found_with_its_page(api, owner, agent):
    client = api(owner)
    assert ingest(upload(client, agent, "manual.pdf", pdf_bytes(20))) == "succeeded"

    document = client.get(f"/api/v1/agents/{agent.slug}/knowledge").json()["data"][0]
    assert document["status"] == "ready" and document["progress"] == 100 and document["pages"] == 20
    hits = search(client, agent, "when does the keeper record tide tables")["results"]
    assert hits[0]["page"] == 17 and PAGE_17_SENTENCE in hits[0]["text"]
    assert hits[0]["filename"] == "manual.pdf" and hits[0]["retrievers"] == ["full_text"]


@pytest.mark.django_db
def test_generated_document_id_and_list_shape(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "notes.md", markdown_bytes([("Intro", "Hello there.")])))

    body = client.get(f"/api/v1/agents/{agent.slug}/knowledge").json()
    assert body["meta"]["total"] == 1
    document = body["data"][0]
    assert document["document_id"].startswith("doc_") and document["kind"] == "md"
    assert document["chunk_count"] >= 1 and document["error"] is None
    detail = client.get(f"/api/v1/agents/{agent.slug}/knowledge/{document['document_id']}").json()["data"]
    assert detail == document


@pytest.mark.django_db
def test_renamed_executable_is_refused_with_415(api, owner, agent):
    body = problem(upload(api(owner), agent, "report.pdf", exe_bytes(), content_type="application/pdf"),
                   415, "unsupported_media_type")
    assert "PDF, PPTX, DOCX" in body["detail"]
    assert not Document.objects.exists() and not Execution.objects.exists()


@pytest.mark.django_db
def test_zip_that_is_no_office_document_is_refused(api, owner, agent):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    problem(upload(api(owner), agent, "slides.pptx", out.getvalue()), 415, "unsupported_media_type")


@pytest.mark.django_db
def test_oversized_file_is_refused_with_413(api, owner, agent, settings):
    settings.AGENTRY_KNOWLEDGE_MAX_BYTES = 10_000
    body = problem(upload(api(owner), agent, "big.txt", b"word " * 5000), 413, "payload_too_large")
    assert "larger than" in body["detail"]
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_oversized_body_is_refused_before_it_is_read(api, owner, agent, settings):
    settings.AGENTRY_MAX_REQUEST_BYTES, settings.AGENTRY_MAX_UPLOAD_BYTES = 500, 1000
    problem(upload(api(owner), agent, "big.txt", b"word " * 1000), 413, "payload_too_large")
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_missing_file_is_400(api, owner, agent):
    body = problem(api(owner).post(f"/api/v1/agents/{agent.slug}/knowledge", {"document_id": "x"},
                                   format="multipart"), 400, "validation_error")
    assert body["errors"] == {"file": ["No file was sent."]}


@pytest.mark.django_db
def test_empty_file_and_bad_fields_are_400(api, owner, agent):
    client = api(owner)
    problem(upload(client, agent, "empty.txt", b""), 400, "validation_error")
    body = problem(upload(client, agent, "a.txt", b"hello", document_id="no spaces allowed"), 400, "validation_error")
    assert "document_id" in body["errors"]
    body = problem(upload(client, agent, "a.txt", b"hello", colour="red"), 400, "validation_error")
    assert body["errors"] == {"colour": ["Unknown field."]}
    problem(upload(client, agent, "a.txt", b"hello", document_id="search"), 400, "validation_error")


@pytest.mark.django_db
def test_json_body_is_415(api, owner, agent):
    problem(api(owner).post(f"/api/v1/agents/{agent.slug}/knowledge", {"file": "x"}, format="json"),
            415, "unsupported_media_type")


@pytest.mark.django_db
def test_another_users_agent_is_404(api, make_user, agent):
    stranger = make_user()
    client = api(stranger)
    problem(upload(client, agent, "a.txt", b"hello"), 404, "not_found")
    problem(client.get(f"/api/v1/agents/{agent.slug}/knowledge"), 404, "not_found")
    problem(client.post(f"/api/v1/agents/{agent.slug}/knowledge/search", {"query": "x"}, format="json"),
            404, "not_found")


@pytest.mark.django_db
def test_viewer_cannot_upload_or_delete_but_can_list_and_search(api, owner, agent, make_user, add_member):
    ingest(upload(api(owner), agent, "faq.txt", b"Refunds are paid within five working days.", document_id="faq"))
    viewer = make_user()
    add_member(agent, viewer, "viewer")
    client = api(viewer)

    problem(upload(client, agent, "a.txt", b"hello"), 403, "permission_denied")
    problem(client.delete(f"/api/v1/agents/{agent.slug}/knowledge/faq"), 403, "permission_denied")
    assert client.get(f"/api/v1/agents/{agent.slug}/knowledge").status_code == 200
    assert client.get(f"/api/v1/agents/{agent.slug}/knowledge/faq").status_code == 200
    assert search(client, agent, "refunds")["results"][0]["document_id"] == "faq"


@pytest.mark.django_db
@pytest.mark.parametrize("role, can_write", [("viewer", False), ("operator", False), ("admin", True)])
def test_role_matrix(api, owner, agent, make_user, add_member, role, can_write):
    member = make_user()
    add_member(agent, member, role)
    response = upload(api(member), agent, "a.txt", b"hello world")
    assert response.status_code == (201 if can_write else 403), response.content


@pytest.mark.django_db
def test_read_scope_token_cannot_upload(api, owner, agent):
    problem(upload(api(owner, scopes=["agents:read"]), agent, "a.txt", b"hello"), 403, "permission_denied")


@pytest.mark.django_db
def test_delete_removes_document_chunks_and_file(api, owner, agent, tmp_path):
    client = api(owner)
    ingest(upload(client, agent, "faq.txt", b"Refunds are paid within five working days.", document_id="faq"))
    stored = tmp_path / "knowledge" / Document.objects.get().storage_name
    assert stored.exists()

    assert client.delete(f"/api/v1/agents/{agent.slug}/knowledge/faq").status_code == 204

    assert not Document.objects.exists() and not Chunk.objects.exists()
    assert search(client, agent, "refunds")["results"] == []
    problem(client.get(f"/api/v1/agents/{agent.slug}/knowledge/faq"), 404, "not_found")


@pytest.mark.django_db
def test_document_count_quota_is_429(api, owner, agent, settings):
    settings.AGENTRY_KNOWLEDGE_MAX_DOCUMENTS = 2
    client = api(owner)
    for name in ("a", "b"):
        assert upload(client, agent, f"{name}.txt", b"hello", document_id=name).status_code == 201
    body = problem(upload(client, agent, "c.txt", b"hello", document_id="c"), 429, "rate_limited")
    assert "2 documents" in body["detail"]
    # replacing one is still allowed
    assert upload(client, agent, "a.txt", b"hello again", document_id="a").status_code == 201


@pytest.mark.django_db
def test_byte_quota_is_413(api, owner, agent, settings):
    settings.AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES = 100
    client = api(owner)
    assert upload(client, agent, "a.txt", b"x" * 60, document_id="a").status_code == 201
    body = problem(upload(client, agent, "b.txt", b"y" * 60, document_id="b"), 413, "payload_too_large")
    assert "AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES" in body["detail"]


@pytest.mark.django_db
def test_list_filters_by_status_and_paginates(api, owner, agent, django_assert_max_num_queries):
    client = api(owner)
    for n in range(3):
        upload(client, agent, f"{n}.txt", b"hello", document_id=f"d{n}")
    with django_assert_max_num_queries(8):
        body = client.get(f"/api/v1/agents/{agent.slug}/knowledge?limit=2").json()
    assert body["meta"]["total"] == 3 and body["meta"]["has_more"] and len(body["data"]) == 2
    assert client.get(f"/api/v1/agents/{agent.slug}/knowledge?status=ready").json()["data"] == []
    problem(client.get(f"/api/v1/agents/{agent.slug}/knowledge?status=nope"), 400, "validation_error")


@pytest.mark.django_db
def test_deleting_the_agent_deletes_documents_and_files(api, owner, agent, tmp_path,
                                                        django_capture_on_commit_callbacks):
    client = api(owner)
    ingest(upload(client, agent, "faq.txt", b"Refunds are paid within five working days."))
    stored = tmp_path / "knowledge" / Document.objects.get().storage_name

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/agents/{agent.slug}").status_code == 204

    assert not Document.objects.exists() and not Chunk.objects.exists()
    assert not stored.exists()


@pytest.mark.django_db
def test_agent_stats_count_its_documents(api, owner, agent):
    client = api(owner)
    upload(client, agent, "a.txt", b"hello", document_id="a")
    upload(client, agent, "b.txt", b"hello", document_id="b")
    assert client.get(f"/api/v1/agents/{agent.slug}").json()["data"]["stats"]["knowledge_documents"] == 2
    listed = client.get("/api/v1/agents").json()["data"]
    assert [a["stats"]["knowledge_documents"] for a in listed] == [2]
