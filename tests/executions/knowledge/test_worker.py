"""Uploads ingested by a real Celery worker process: every supported kind
through the API to ``ready`` (or ``failed`` with its reason), then searched;
and a worker killed mid-ingestion leaves no document ``processing``."""

import pytest

from executions.knowledge.models import Document
from executions.knowledge.services.ingestion import documents_reap
from executions.models import Execution
from executions.services.reaper import reap_stale_executions
from tests.executions.knowledge.conftest import search, upload
from tests.executions.knowledge.documents import (
    PAGE_17_SENTENCE,
    docx_bytes,
    encrypted_pdf_bytes,
    html_bytes,
    markdown_bytes,
    pdf_bytes,
    pptx_bytes,
)
from tests.fakes.llm_server import Reply
from tests.fakes.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

UPLOADS = {
    "manual": ("manual.pdf", pdf_bytes(20)),
    "deck": ("deck.pptx", pptx_bytes([("Kickoff", "Goals for the year."),
                                      ("Hiring", "We hire four welders in spring.")])),
    "policy": ("policy.docx", docx_bytes([("Overtime", "Overtime is paid at time and a half.")])),
    "help": ("help.html", html_bytes("Help", [("Badges", "Lost badges are replaced at reception.")])),
    "notes": ("notes.md", markdown_bytes([("Parking", "Visitors park in bay seven.")])),
    "broken": ("broken.pdf", pdf_bytes(3)[:500]),
    "locked": ("locked.pdf", encrypted_pdf_bytes()),
}


def settled(client, agent):
    documents = client.get(f"/api/v1/agents/{agent.slug}/knowledge?limit=50").json()["data"]
    if len(documents) == len(UPLOADS) and all(d["status"] != "processing" for d in documents):
        return {d["document_id"]: d for d in documents}
    return None


def test_every_kind_is_ingested_by_the_worker_and_found(api, owner, agent, celery_worker):
    client = api(owner)
    for document_id, (filename, content) in UPLOADS.items():
        response = upload(client, agent, filename, content, document_id=document_id)
        assert response.status_code == 201, response.content
        assert response.json()["data"]["status"] == "processing"

    documents = wait_for(lambda: settled(client, agent), timeout=120)

    assert {k: d["status"] for k, d in documents.items()} == {
        "manual": "ready", "deck": "ready", "policy": "ready", "help": "ready", "notes": "ready",
        "broken": "failed", "locked": "failed"}
    assert "corrupt" in documents["broken"]["error"]
    assert "encrypted" in documents["locked"]["error"]
    assert documents["manual"]["pages"] == 20 and documents["manual"]["progress"] == 100
    for document in documents.values():
        execution = Execution.objects.get(pk=document["execution_id"])
        assert execution.trigger == "knowledge" and execution.worker == celery_worker.hostname

    hit = search(client, agent, "tide tables lighthouse keeper")["results"][0]
    assert hit["document_id"] == "manual" and hit["page"] == 17 and PAGE_17_SENTENCE in hit["text"]
    assert search(client, agent, "welders")["results"][0]["page"] == 2
    assert search(client, agent, "overtime paid")["results"][0]["document_id"] == "policy"
    assert search(client, agent, "lost badges")["results"][0]["document_id"] == "help"
    assert search(client, agent, "visitors park")["results"][0]["document_id"] == "notes"


def test_a_worker_killed_mid_ingestion_leaves_no_document_processing(api, owner, agent, llm, celery_worker):
    from accounts.actor import Actor
    from agents.services.agents import agent_update

    # given an ingestion stuck in a slow embedding call when its worker is killed
    agent_update(agent=agent, actor=Actor(user=owner),
                 changes={"config": {"knowledge": {"embedding": {"provider": "fake", "model": "embed-slow"}}}})
    llm.script("embed-slow", [Reply(delay=30)])
    client = api(owner)
    upload(client, agent, "manual.pdf", pdf_bytes(2), document_id="manual")
    wait_for(lambda: [r for r in llm.requests if r.path == "/v1/embeddings"], timeout=60)
    celery_worker.kill()
    assert Document.objects.get().status == "processing"

    # when the reapers run (beat runs them every 30 s)
    reap_stale_executions(stale_after=0)
    documents_reap()

    # then
    document = client.get(f"/api/v1/agents/{agent.slug}/knowledge/manual").json()["data"]
    assert document["status"] == "failed" and "stopped sending heartbeats" in document["error"]
