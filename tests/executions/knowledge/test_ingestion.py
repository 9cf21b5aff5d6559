"""Ingestion (``services.ingestion``), run in-process on documents uploaded
through the API: what each kind keeps, how failures read, replacement and
the reaper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.knowledge.models import Chunk, Document, KnowledgeBase
from executions.knowledge.services.ingestion import document_ingest, documents_reap
from executions.models import Execution, ExecutionStep
from executions.services.reaper import reap_stale_executions, requeue_lost_executions
from tests.conftest import problem
from tests.executions.knowledge.conftest import ingest, search, upload
from tests.executions.knowledge.documents import (
    docx_bytes,
    encrypted_pdf_bytes,
    html_bytes,
    markdown_bytes,
    pdf_bytes,
    pptx_bytes,
    scanned_pdf_bytes,
)


def document(client, agent, document_id):
    return client.get(f"/api/v1/agents/{agent.slug}/knowledge/{document_id}").json()["data"]


@pytest.mark.django_db
def test_ingestion_records_its_steps_as_the_executions_trace(api, owner, agent):
    client = api(owner)
    response = upload(client, agent, "manual.pdf", pdf_bytes(3), document_id="manual")
    ingest(response)

    execution = Execution.objects.get(pk=response.json()["data"]["execution_id"])
    assert execution.status == "succeeded" and execution.trigger == "knowledge"
    assert execution.output == {"document_id": "manual", "filename": "manual.pdf", "pages": 3,
                                "chunks": Chunk.objects.count(), "embedding_model": None, "replaced": False}
    steps = list(ExecutionStep.objects.filter(execution=execution).order_by("sequence"))
    assert [(s.node_id, s.status) for s in steps] == [("parse", "succeeded"), ("chunk", "succeeded"),
                                                      ("embed", "succeeded"), ("index", "succeeded")]
    assert steps[0].output == {"pages": 3, "blocks": 3}
    trace = client.get(f"/api/v1/executions/{execution.pk}").json()["data"]["trace"]
    assert [step["node_id"] for step in trace] == ["parse", "chunk", "embed", "index"]


@pytest.mark.django_db
@pytest.mark.parametrize("name, content, reason", [
    ("broken.pdf", pdf_bytes(3)[:400], "corrupt"),
    ("locked.pdf", encrypted_pdf_bytes(), "encrypted with a password"),
    ("scan.pdf", scanned_pdf_bytes(), "No text found"),
    ("broken.docx", b"PK\x03\x04" + b"\x00" * 40, None),
])
def test_unreadable_documents_fail_with_their_reason(api, owner, agent, name, content, reason):
    client = api(owner)
    response = upload(client, agent, name, content, document_id="doc")
    if reason is None:  # a zip so broken it is not even recognised as one
        problem(response, 415, "unsupported_media_type")
        return
    assert ingest(response) == "failed"

    failed = document(client, agent, "doc")
    assert failed["status"] == "failed" and reason in failed["error"] and failed["chunk_count"] == 0
    execution = Execution.objects.get(pk=failed["execution_id"])
    assert execution.status == "failed" and execution.error["code"] == "ingest_error"
    assert execution.error["node_id"] == "parse" and reason in execution.error["message"]


@pytest.mark.django_db
def test_pptx_keeps_slide_numbers_and_titles(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "deck.pptx", pptx_bytes([
        ("Welcome", "Agenda for the offsite."), ("Budget", "Travel costs are capped at nine hundred euros."),
        ("Wrap up", "Questions and answers.")]), document_id="deck"))

    assert document(client, agent, "deck")["pages"] == 3
    hit = search(client, agent, "travel costs capped")["results"][0]
    assert hit["page"] == 2 and hit["heading"] == "Budget" and "nine hundred euros" in hit["text"]


@pytest.mark.django_db
def test_docx_chunks_follow_its_headings(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "policy.docx", docx_bytes([
        ("Leave", "Staff take leave after telling their manager."),
        ("Expenses", "Receipts are scanned within a week.")])))

    hit = search(client, agent, "receipts scanned")["results"][0]
    assert hit["heading"] == "Expenses" and hit["text"].endswith("Receipts are scanned within a week.")
    assert Chunk.objects.count() == 2  # one per section: a chunk never spans two headings


@pytest.mark.django_db
def test_html_text_is_indexed_without_scripts_or_styles(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "page.html", html_bytes("Help centre", [
        ("Passwords", "Reset your password from the sign-in page.")]), content_type="text/plain"))

    assert Document.objects.get().kind == "html"
    assert search(client, agent, "reset password")["results"][0]["heading"] == "Passwords"
    assert search(client, agent, "secret never indexed")["results"] == []
    assert not Chunk.objects.filter(text__contains="color").exists()


@pytest.mark.django_db
def test_markdown_and_text_are_told_apart_by_content(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "readme.txt", markdown_bytes([("Install", "Run the installer twice.")]),
                  document_id="md"))
    ingest(upload(client, agent, "notes.md", b"Plain words with no markup at all.", document_id="txt"))

    assert document(client, agent, "md")["kind"] == "md" and document(client, agent, "txt")["kind"] == "txt"
    assert search(client, agent, "installer")["results"][0]["heading"] == "Install"


@pytest.mark.django_db
def test_chunk_size_and_overlap_come_from_the_agents_config(api, owner, make_agent):
    agent = make_agent(owner, config={"knowledge": {"chunk_size": 300, "chunk_overlap": 50}})
    client = api(owner)
    text = " ".join(f"Sentence number {n} talks about topic {n}." for n in range(60))
    ingest(upload(client, agent, "long.txt", text.encode()))

    chunks = list(Chunk.objects.order_by("ordinal"))
    assert len(chunks) > 5 and all(len(chunk.text) <= 300 for chunk in chunks)
    tail = chunks[0].text[-30:].split(" ", 1)[1]
    assert chunks[1].text.startswith(tail[:10]) or tail[:10] in chunks[1].text[:60]  # the overlap


@pytest.mark.django_db
def test_reupload_replaces_the_document_atomically(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "v1.txt", b"The office opens at eight.", document_id="hours"))
    revision = KnowledgeBase.objects.get(agent=agent).revision

    # when the new version is uploaded but not yet ingested, the old one still answers
    second = upload(client, agent, "v2.txt", b"The office opens at nine.", document_id="hours")
    assert document(client, agent, "hours")["status"] == "processing"
    assert "eight" in search(client, agent, "office opens")["results"][0]["text"]

    # then, once ingested, only the new one does, and the index revision moved
    assert ingest(second) == "succeeded"
    texts = [hit["text"] for hit in search(client, agent, "office opens")["results"]]
    assert texts == ["The office opens at nine."]
    assert Document.objects.count() == 1 and Document.objects.get().filename == "v2.txt"
    assert KnowledgeBase.objects.get(agent=agent).revision > revision
    assert Execution.objects.get(pk=second.json()["data"]["execution_id"]).output["replaced"] is True


@pytest.mark.django_db
def test_an_upload_overtaken_by_a_newer_one_never_lands(api, owner, agent):
    client = api(owner)
    first = upload(client, agent, "v1.txt", b"Old words about walruses.", document_id="doc")
    second = upload(client, agent, "v2.txt", b"New words about penguins.", document_id="doc")

    assert ingest(first) == "cancelled"  # its document now belongs to the second upload
    assert ingest(second) == "succeeded"
    assert search(client, agent, "walruses")["results"] == []
    assert search(client, agent, "penguins")["results"][0]["document_id"] == "doc"


@pytest.mark.django_db
def test_a_failed_replacement_leaves_no_stale_chunks(api, owner, agent):
    client = api(owner)
    ingest(upload(client, agent, "v1.pdf", pdf_bytes(2), document_id="doc"))
    ingest(upload(client, agent, "v2.pdf", encrypted_pdf_bytes(), document_id="doc"))

    assert document(client, agent, "doc")["status"] == "failed"
    assert not Chunk.objects.exists() and search(client, agent, "harbour office")["results"] == []


@pytest.mark.django_db
def test_a_claimed_ingestion_is_not_run_twice(api, owner, agent):
    response = upload(api(owner), agent, "a.txt", b"hello world")
    assert ingest(response) == "succeeded"
    assert document_ingest(response.json()["data"]["execution_id"]) is None
    assert Chunk.objects.count() == 1


@pytest.mark.django_db
def test_embedding_failure_at_ingestion_fails_the_document(api, owner, agent, llm):
    from accounts.actor import Actor
    from agents.services.agents import agent_update
    from tests.fakes.llm_server import Reply

    agent_update(agent=agent, actor=Actor(user=owner),
                 changes={"config": {"knowledge": {"embedding": {"provider": "fake", "model": "embed-x"}}}})
    llm.script("embed-x", [Reply(status=400, error="model embed-x does not exist")])
    client = api(owner)
    assert ingest(upload(client, agent, "a.txt", b"hello world", document_id="a")) == "failed"

    failed = document(client, agent, "a")
    assert "embedding model failed" in failed["error"] and "embed-x does not exist" in failed["error"]


@pytest.mark.django_db
def test_ingestion_with_embeddings_stores_vectors(api, owner, agent, llm):
    from accounts.actor import Actor
    from agents.services.agents import agent_update

    agent_update(agent=agent, actor=Actor(user=owner),
                 changes={"config": {"knowledge": {"embedding": {"provider": "fake", "model": "embed-y"}}}})
    client = api(owner)
    ingest(upload(client, agent, "m.pdf", pdf_bytes(4), document_id="m"))

    assert document(client, agent, "m")["embedding_model"] == "fake:embed-y"
    chunk = Chunk.objects.first()
    assert chunk.embedding_model == "fake:embed-y" and len(bytes(chunk.embedding)) == 64 * 4
    embed_step = ExecutionStep.objects.get(node_id="embed")
    assert embed_step.output["vectors"] == Chunk.objects.count() and embed_step.tokens_prompt > 0


@pytest.mark.django_db
def test_the_reaper_fails_documents_whose_worker_died(api, owner, agent):
    # given an ingestion a worker claimed, then died in
    response = upload(api(owner), agent, "a.txt", b"hello world", document_id="a")
    execution_id = response.json()["data"]["execution_id"]
    long_ago = timezone.now() - timedelta(minutes=10)
    Execution.objects.filter(pk=execution_id).update(status="running", worker="gone@host", heartbeat_at=long_ago,
                                                     started_at=long_ago)

    # when both reapers run
    reap_stale_executions()
    result = documents_reap()

    # then the document is failed with the reason, not processing forever
    failed = Document.objects.get()
    assert failed.status == "failed" and "gone@host" in failed.error and "stopped sending heartbeats" in failed.error
    assert result["failed"] == [str(failed.pk)]


@pytest.mark.django_db
def test_lost_ingestion_messages_go_to_the_knowledge_task_not_the_run_task(api, owner, agent):
    response = upload(api(owner), agent, "a.txt", b"hello world")
    execution_id = response.json()["data"]["execution_id"]
    Execution.objects.filter(pk=execution_id).update(enqueued_at=timezone.now() - timedelta(minutes=10))

    assert requeue_lost_executions() == []
    assert documents_reap()["requeued"] == [execution_id]


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_queue_fails_the_upload_with_502(api, owner, agent, monkeypatch):
    from celery import current_app

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(current_app, "send_task", refuse)
    response = upload(api(owner), agent, "a.txt", b"hello world", document_id="a")

    body = problem(response, 502, "ingest_error")
    assert "task queue is unavailable" in body["detail"]
    assert Document.objects.get().status == "failed"
    assert Execution.objects.get().status == "failed"
