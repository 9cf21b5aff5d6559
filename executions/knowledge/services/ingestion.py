"""Ingesting a document in a worker: parse, chunk, embed, index, each an
``ExecutionStep`` of the document's ``knowledge`` execution, so the trace
shows what happened and how long it took.

The index step writes all the new chunks and deletes the old ones in one
transaction, with the revision bump that tells vector indexes to reload:
search sees the old document or the new, never half of each.  A failure
leaves the document ``failed`` with a message a user can act on; a killed
worker's document is settled by :func:`documents_reap`."""

from __future__ import annotations

import logging
import os
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from agents.models import Agent
from executions.knowledge import files
from executions.knowledge.chunking import ChunkDraft, chunk_blocks
from executions.knowledge.config import EmbeddingModel, EmbeddingUnavailable, embedding_model, knowledge_config
from executions.knowledge.models import Chunk, Document, DocumentStatus
from executions.knowledge.parsing import ParsedDocument, ParseProblem, parse
from executions.knowledge.services.documents import revision_bump
from executions.knowledge.vectors import pack
from executions.llm.base import ProviderError
from executions.llm.embeddings import BATCH_SIZE, EmbeddingClient
from executions.models import FINISHED_STATUSES, Execution, ExecutionStatus, ExecutionStep, StepStatus
from executions.services.recording import event_record
from executions.services.runs import execution_abandon, execution_finish

logger = logging.getLogger("agentry.knowledge")


class IngestProblem(Exception):
    """The document cannot be ingested; the message is what the user sees."""


class _Steps:
    """Writes the ingestion's trace: one step per stage, with its events."""

    def __init__(self, execution_id):
        self.execution_id = execution_id
        self.sequence = 0
        self.current = ""

    @contextmanager
    def step(self, name: str, step_input=None):
        self.sequence += 1
        self.current = name
        step = ExecutionStep.objects.create(execution_id=self.execution_id, sequence=self.sequence, node_id=name,
                                            node_type=f"knowledge_{name}", input=step_input)
        event_record(self.execution_id, "node_started", {"step_id": str(step.id), "node_id": name,
                                                         "type": step.node_type})
        result: dict = {}
        try:
            yield result
        except Exception as exc:
            message = str(exc) if isinstance(exc, (IngestProblem, ParseProblem)) else "Ingestion failed unexpectedly."
            self._finish(step, StepStatus.FAILED, None, {"code": "ingest_error", "message": message, "node_id": name})
            raise
        self._finish(step, StepStatus.SUCCEEDED, result, None, tokens=result.pop("_tokens", 0))

    def _finish(self, step, status, output, error, tokens: int = 0) -> None:
        now = timezone.now()
        step.status, step.output, step.error, step.finished_at = status, output, error, now
        step.tokens_prompt = tokens
        step.duration_ms = max(0, int((now - step.started_at).total_seconds() * 1000))
        step.save()
        content = (error or {}).get("message") if error else ", ".join(f"{k}: {v}" for k, v in (output or {}).items())
        event_record(self.execution_id, "step", {
            "id": str(step.id), "role": "tool", "content": content or "", "node_id": step.node_id,
            "agent_iteration_id": None, "type": step.node_type, "status": status,
            "duration_ms": step.duration_ms, "tokens_used": step.tokens_used})


@contextmanager
def _heartbeat(execution_id):
    """Beat the execution's heartbeat from a thread while the stages run
    (parsing a large PDF is one long call), so the reaper knows it is alive."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.AGENTRY_EXECUTION_HEARTBEAT_SECONDS):
                Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(
                    heartbeat_at=timezone.now())
        except Exception:  # a missed beat is the reaper's business, not the ingestion's
            logger.warning("Heartbeat of ingestion %s failed", execution_id, exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, daemon=True, name=f"ingest-heartbeat-{execution_id}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _progress(document: Document, percent: int) -> None:
    Document.objects.filter(pk=document.pk, execution_id=document.execution_id).update(
        progress=percent, updated_at=timezone.now())


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def document_ingest(execution_id, *, worker: str = "") -> str | None:
    """Claim the ingestion ``execution_id`` and run it; its final status, or
    ``None`` when it was claimed (or cancelled) already."""
    now = timezone.now()
    claimed = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.QUEUED).update(
        status=ExecutionStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker or _worker_name())
    if not claimed:
        return None
    event_record(execution_id, "status", {"status": ExecutionStatus.RUNNING})
    execution = Execution.objects.get(pk=execution_id)
    document = Document.objects.filter(execution_id=execution_id).first()
    if document is None:  # deleted, or uploaded again, before a worker got to it
        execution_finish(execution, ExecutionStatus.CANCELLED, error={
            "code": "cancelled", "node_id": None, "message": "The document was deleted or replaced first."})
        return ExecutionStatus.CANCELLED
    steps = _Steps(execution_id)
    try:
        with _heartbeat(execution_id):
            output = _ingest(document, steps)
    except (IngestProblem, ParseProblem) as problem:
        _fail(document, str(problem))
        execution_finish(execution, ExecutionStatus.FAILED,
                         error={"code": "ingest_error", "message": str(problem), "node_id": steps.current or None})
        return ExecutionStatus.FAILED
    except Exception:
        logger.exception("Ingestion %s crashed", execution_id)
        message = "Ingestion failed unexpectedly; upload the document again."
        _fail(document, message)
        execution_finish(execution, ExecutionStatus.FAILED,
                         error={"code": "server_error", "message": message, "node_id": steps.current or None})
        return ExecutionStatus.FAILED
    execution_finish(execution, ExecutionStatus.SUCCEEDED, output=output)
    return ExecutionStatus.SUCCEEDED


def _ingest(document: Document, steps: _Steps) -> dict:
    config = Agent.objects.filter(pk=document.agent_id).values_list("config", flat=True).first() or {}
    options = knowledge_config(config)
    with steps.step("parse", {"filename": document.filename, "kind": document.kind,
                              "file_size": document.file_size}) as out:
        parsed = _parse(document)
        out.update(pages=parsed.pages, blocks=len(parsed.blocks))
    _progress(document, 30)
    with steps.step("chunk", {"chunk_size": options["chunk_size"], "chunk_overlap": options["chunk_overlap"]}) as out:
        drafts = chunk_blocks(parsed.blocks, size=options["chunk_size"], overlap=options["chunk_overlap"])
        out.update(chunks=len(drafts))
    _progress(document, 40)
    with steps.step("embed") as out:
        model, vectors, tokens, note = _embed(document, drafts, config)
        out.update(model=model.key if model else None, vectors=len(vectors), note=note, _tokens=tokens)
    with steps.step("index", {"chunks": len(drafts)}) as out:
        indexed = _swap(document, parsed, drafts, vectors, model.key if model and vectors else "")
        out.update(indexed=indexed)
    return {"document_id": document.document_id, "filename": document.filename, "pages": parsed.pages,
            "chunks": len(drafts), "embedding_model": model.key if model and vectors else None,
            "replaced": indexed == "replaced"}


def _parse(document: Document) -> ParsedDocument:
    try:
        stream = files.file_open(document.storage_name)
    except (FileNotFoundError, OSError):
        raise IngestProblem("The uploaded file is missing from storage; upload it again.") from None
    with stream:
        return parse(stream, document.kind)


def _embed(document: Document, drafts: list[ChunkDraft], config: dict):
    """``(model, vectors, tokens, note)``: no model, no vectors, and the
    document is searched by full text only."""
    try:
        model: EmbeddingModel | None = embedding_model(config)
    except EmbeddingUnavailable as exc:
        raise IngestProblem(f"{exc} Fix config.knowledge.embedding, then upload again.") from None
    if model is None:
        _progress(document, 90)
        return None, [], 0, "No embedding model configured; the document is searched by full text."
    vectors: list[list[float]] = []
    tokens = 0
    try:
        with EmbeddingClient(model.provider, model.model) as client:
            for start in range(0, len(drafts), BATCH_SIZE):
                batch = drafts[start:start + BATCH_SIZE]
                embedded = client.embed([_embedding_input(draft) for draft in batch])
                vectors += embedded.vectors
                tokens += embedded.tokens
                _progress(document, 40 + int(50 * min(len(vectors), len(drafts)) / max(1, len(drafts))))
    except ProviderError as exc:
        raise IngestProblem(f"The embedding model failed: {exc.message}") from None
    return model, vectors, tokens, ""


def _embedding_input(draft: ChunkDraft) -> str:
    return f"{draft.heading}\n{draft.text}" if draft.heading and not draft.text.startswith(draft.heading) \
        else draft.text


def _swap(document: Document, parsed: ParsedDocument, drafts: list[ChunkDraft], vectors: list, model: str) -> str:
    """Replace the document's chunks with ``drafts`` in one transaction;
    ``"superseded"`` when a newer upload or a delete got there first."""
    with transaction.atomic():
        current = Document.objects.select_for_update().filter(
            pk=document.pk, execution_id=document.execution_id).first()
        if current is None:
            return "superseded"
        replaced = Chunk.objects.filter(document=current).delete()[0] > 0
        Chunk.objects.bulk_create([
            Chunk(agent_id=current.agent_id, document=current, ordinal=ordinal, page=draft.page,
                  heading=draft.heading[:500], text=draft.text,
                  embedding=pack(vectors[ordinal]) if vectors else None, embedding_model=model)
            for ordinal, draft in enumerate(drafts)], batch_size=500)
        now = timezone.now()
        Document.objects.filter(pk=current.pk).update(
            status=DocumentStatus.READY, progress=100, error="", pages=parsed.pages, chunk_count=len(drafts),
            embedding_model=model, indexed_at=now, updated_at=now)
        revision_bump(current.agent_id)
    return "replaced" if replaced else "indexed"


def _fail(document: Document, message: str) -> None:
    """The document failed: its message shows, and it is not searchable (a
    replacement that fails takes the old chunks with it, so the document
    never answers with a file it no longer is)."""
    with transaction.atomic():
        current = Document.objects.select_for_update().filter(
            pk=document.pk, execution_id=document.execution_id).first()
        if current is None:
            return
        Chunk.objects.filter(document=current).delete()
        Document.objects.filter(pk=current.pk).update(status=DocumentStatus.FAILED, error=message[:2000],
                                                      chunk_count=0, updated_at=timezone.now())
        revision_bump(current.agent_id)


def ingestion_abandon(execution_id, reason: str) -> None:
    """Fail an ingestion that will never run (its task could not be sent)."""
    execution_abandon(execution_id, reason=reason)
    for document in Document.objects.filter(execution_id=execution_id, status=DocumentStatus.PROCESSING):
        _fail(document, reason)


# --- settling what dead workers left -------------------------------------------------------------

def documents_reap(*, stale_after: float | None = None) -> dict:
    """Settle documents whose ingestion will not finish: those whose
    execution ended without succeeding (the executions reaper failed it when
    its worker died, or it was cancelled) or is gone become ``failed``; those
    still queued long after their task was sent have it sent again.
    Returns ``{"failed": [...], "requeued": [...]}`` (document and execution ids)."""
    stale_after = stale_after if stale_after is not None else settings.AGENTRY_EXECUTION_STALE_SECONDS
    stuck = Document.objects.filter(status=DocumentStatus.PROCESSING).filter(
        Q(execution__isnull=True) | Q(execution__status__in=[s for s in FINISHED_STATUSES
                                                             if s != ExecutionStatus.SUCCEEDED]))
    failed = []
    for document in stuck.select_related("execution"):
        error = (document.execution.error or {}) if document.execution else {}
        message = error.get("message") or "The ingestion stopped before it finished."
        _fail(document, f"{message} Upload the document again.")
        failed.append(str(document.pk))
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    lost = list(Execution.objects.filter(trigger="knowledge", status=ExecutionStatus.QUEUED, enqueued_at__lt=cutoff)
                .values_list("pk", flat=True)[:500])
    Execution.objects.filter(pk__in=lost).update(enqueued_at=timezone.now())
    if failed or lost:
        logger.warning("Knowledge reaper: %d documents failed, %d ingestions sent again", len(failed), len(lost))
    return {"failed": failed, "requeued": [str(pk) for pk in lost]}
