"""Fixtures for the knowledge base: an agent with an owner, files uploaded
through the API, and ingestion run in-process (the worker tests run it in a
real Celery worker)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from executions.knowledge import vectors


@pytest.fixture(autouse=True)
def _knowledge_storage(settings, tmp_path):
    # Where a test's Celery worker (AGENTRY_DATA_DIR=tmp_path) looks too.
    settings.STORAGES = {**settings.STORAGES, "knowledge": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "knowledge")}}}
    settings.AGENTRY_KNOWLEDGE_EMBEDDING = ""
    vectors.forget()
    yield
    vectors.forget()


@pytest.fixture
def owner(make_user):
    return make_user("kb-owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Docs Bot")


def upload(client, agent, filename: str, content: bytes, content_type="application/octet-stream", **fields):
    """``POST /agents/{agent}/knowledge`` with ``content`` as the file."""
    data = {"file": SimpleUploadedFile(filename, content, content_type=content_type), **fields}
    return client.post(f"/api/v1/agents/{agent.slug}/knowledge", data, format="multipart")


def ingest(response):
    """Run the ingestion an upload queued, here (what the worker does)."""
    from executions.knowledge.services.ingestion import document_ingest

    assert response.status_code == 201, response.content
    return document_ingest(response.json()["data"]["execution_id"])


def search(client, agent, query, **body):
    response = client.post(f"/api/v1/agents/{agent.slug}/knowledge/search", {"query": query, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]
