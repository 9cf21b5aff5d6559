"""Uploading and deleting documents (API.md §6).

``document_upload`` checks the file (kind by content, size, quotas), stores
it, and writes the document with its ingestion execution (trigger
``knowledge``) in one transaction; the ingestion task is sent once that
commits.  Re-uploading a ``document_id`` keeps the old chunks searchable
until the new ones replace them in one transaction (``ingestion``)."""

from __future__ import annotations

import hashlib
import logging
import uuid

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.actor import Actor
from agents.models import Agent
from core.errors import ApiError, Conflict, PayloadTooLarge, ValidationFailed
from core.validation import validated
from executions.knowledge import files
from executions.knowledge.inputs import UploadFieldsSerializer
from executions.knowledge.models import Document, DocumentStatus, KnowledgeBase
from executions.knowledge.parsing import UnsupportedFile, detect_kind
from executions.models import Execution, ExecutionStatus, Trigger
from executions.services.recording import event_record

logger = logging.getLogger("agentry.knowledge")

INGEST_TASK = "knowledge.ingest"
MB = 1024 * 1024


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class QuotaExceeded(ApiError):
    status, code = 429, "rate_limited"


class IngestError(ApiError):
    status, code = 502, "ingest_error"


def _megabytes(size: int) -> str:
    return f"{size / MB:.0f} MB" if size >= MB else f"{size} bytes"


def file_limit_error(limit: int | None = None) -> PayloadTooLarge:
    limit = settings.AGENTRY_KNOWLEDGE_MAX_BYTES if limit is None else limit
    return PayloadTooLarge(f"The file is larger than the {_megabytes(limit)} allowed "
                           f"(AGENTRY_KNOWLEDGE_MAX_BYTES).", errors={"file": ["Too large."]})


def _check_file(uploaded) -> str:
    """The file's kind, after the checks that need no parsing."""
    if uploaded is None:
        raise ValidationFailed("Send the document as the multipart field file.", errors={"file": ["No file was sent."]})
    if uploaded.size == 0:
        raise ValidationFailed("The file is empty.", errors={"file": ["The file is empty."]})
    if uploaded.size > settings.AGENTRY_KNOWLEDGE_MAX_BYTES:
        raise file_limit_error()
    try:
        return detect_kind(uploaded)
    except UnsupportedFile as exc:
        raise UnsupportedMediaType(f"{exc} Supported: PDF, PPTX, DOCX, HTML, Markdown and plain text.",
                                   errors={"file": ["Unsupported file type."]}) from None


def _check_quotas(agent: Agent, size: int, replacing: Document | None) -> None:
    others = Document.objects.filter(agent=agent)
    if replacing is not None:
        others = others.exclude(pk=replacing.pk)
    count = others.count()
    if count >= settings.AGENTRY_KNOWLEDGE_MAX_DOCUMENTS:
        raise QuotaExceeded(f"This agent already has {count} documents, the most allowed "
                            f"(AGENTRY_KNOWLEDGE_MAX_DOCUMENTS); delete some before uploading more.")
    used = others.aggregate(total=Sum("file_size"))["total"] or 0
    limit = settings.AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES
    if used + size > limit:
        raise PayloadTooLarge(f"This agent's documents would take {_megabytes(used + size)}, more than the "
                              f"{_megabytes(limit)} allowed (AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES); delete some first.")


def _sha256(uploaded) -> str:
    digest = hashlib.sha256()
    for block in uploaded.chunks():
        digest.update(block)
    uploaded.seek(0)
    return digest.hexdigest()


def _user(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None


def document_upload(*, agent: Agent, actor: Actor, uploaded, data) -> Document:
    """Store ``uploaded`` (a Django ``UploadedFile``) as a document of
    ``agent`` and queue its ingestion.  ``data``: the form fields of
    ``UploadFieldsSerializer``."""
    kind = _check_file(uploaded)
    fields = validated(UploadFieldsSerializer(data=data))
    document_id = fields.get("document_id") or f"doc_{int(timezone.now().timestamp())}_{uuid.uuid4().hex[:8]}"
    _check_quotas(agent, uploaded.size, Document.objects.filter(agent=agent, document_id=document_id).first())
    sha256 = _sha256(uploaded)
    storage_name = files.file_save(agent.pk, uploaded)
    try:
        document = _document_write(agent=agent, actor=actor, document_id=document_id, kind=kind, sha256=sha256,
                                   storage_name=storage_name, filename=uploaded.name, size=uploaded.size,
                                   fields=fields)
    except Exception:
        files.file_delete(storage_name)  # nothing points at it
        raise
    transaction.on_commit(lambda: ingestion_send(document.execution_id))
    document.refresh_from_db()
    if document.status == DocumentStatus.FAILED:
        raise IngestError(document.error)
    return document


def _document_write(*, agent, actor, document_id, kind, sha256, storage_name, filename, size, fields) -> Document:
    now = timezone.now()
    try:
        with transaction.atomic():
            KnowledgeBase.objects.get_or_create(agent=agent)
            document = Document.objects.select_for_update().filter(agent=agent, document_id=document_id).first()
            _check_quotas(agent, size, document)  # again, now that the row is locked
            execution = Execution.objects.create(
                agent=agent, trigger=Trigger.KNOWLEDGE, status=ExecutionStatus.QUEUED, enqueued_at=now,
                input={"document_id": document_id, "filename": filename, "kind": kind, "file_size": size},
                options={"trace": True}, timeout_ms=int(settings.AGENTRY_EXECUTION_MAX_TIMEOUT * 1000),
                requested_by=_user(actor), token=actor.token, created_at=now)
            event_record(execution.id, "status", {"status": execution.status})
            if document is None:
                document = Document(agent=agent, document_id=document_id, created_at=now)
            else:
                files.file_delete_on_commit(document.storage_name)  # its chunks stay until the new ones replace them
            document.filename = filename[:255] or "upload"
            document.kind, document.file_size, document.sha256 = kind, size, sha256
            document.storage_name = storage_name
            document.tags, document.description = fields["tags"], fields["description"]
            document.status, document.progress, document.error = DocumentStatus.PROCESSING, 0, ""
            document.execution, document.uploaded_by, document.updated_at = execution, _user(actor), now
            document.save()
    except IntegrityError:
        raise Conflict(f"Document {document_id!r} is being uploaded by another request; retry.") from None
    Agent.objects.filter(pk=agent.pk).update(last_activity=now)
    return document


def ingestion_send(execution_id) -> None:
    """Send the ingestion task; if the broker cannot take it, the execution
    and its document fail at once instead of staying ``processing``."""
    try:
        current_app.send_task(INGEST_TASK, args=[str(execution_id)])
    except Exception:  # kombu raises many types for an unreachable broker
        logger.exception("Could not queue knowledge ingestion %s", execution_id)
        from executions.knowledge.services.ingestion import ingestion_abandon

        ingestion_abandon(execution_id, "The task queue is unavailable; the document was not ingested. "
                                        "Upload it again.")


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Remove a document, its chunks (from every index) and, once committed, its file."""
    Document.objects.filter(pk=document.pk).delete()
    revision_bump(document.agent_id)


def revision_bump(agent_id) -> None:
    """Tell every process's vector index that the agent's chunks changed
    (inside the transaction that changed them)."""
    KnowledgeBase.objects.filter(agent_id=agent_id).update(revision=F("revision") + 1)
