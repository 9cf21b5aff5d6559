"""Celery tasks of the knowledge base: ingesting a document, and settling
ingestions whose worker died.  Thin: ids in, a service call out; the names
are stored in broker messages and beat's schedule, so they never change."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from executions.knowledge.services import ingestion
from executions.knowledge.services.documents import INGEST_TASK, ingestion_send


@shared_task(name=INGEST_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=settings.AGENTRY_EXECUTION_MAX_TIMEOUT + 30,
             time_limit=settings.AGENTRY_EXECUTION_MAX_TIMEOUT + 60)
def document_ingest_task(self, execution_id: str) -> str | None:
    """Parse, chunk, embed and index one uploaded document.  A redelivered
    message finds the ingestion claimed already and does nothing."""
    return ingestion.document_ingest(execution_id, worker=self.request.hostname or "")


@shared_task(name="knowledge.reap_stale")
def documents_reap_task() -> dict:
    """Fail documents whose ingestion died; send again those whose message was lost."""
    result = ingestion.documents_reap()
    for execution_id in result["requeued"]:
        ingestion_send(execution_id)
    return result
