"""Hybrid search: full text always, vectors when an embedding model is
configured, fused by reciprocal rank (RRF, k = 60: a passage's score is the
sum of 1 / (60 + its rank) over the retrievers that found it, so one found
by both outranks one found by either alone at a similar rank).

One search serves the API, the ``knowledge_search`` node and tool, and the
chat's ``/knowledge search`` (through ``selectors``); it is async, as its
callers wait for the embedding model on the event loop."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from asgiref.sync import sync_to_async

from executions.knowledge.config import EmbeddingModel, EmbeddingUnavailable, embedding_model
from executions.knowledge.fulltext import full_text_search
from executions.knowledge.models import Chunk, Document, DocumentStatus
from executions.knowledge.vectors import vector_search
from executions.llm.base import ProviderError
from executions.llm.embeddings import EmbeddingClient

logger = logging.getLogger("agentry.knowledge")

RRF_K = 60
FULL_TEXT, VECTOR = "full_text", "vector"
MAX_QUERY_CHARS = 2000


async def search(*, agent_id: uuid.UUID, config: dict, query: str, top_k: int = 5,
                 tags: list[str] | None = None) -> dict:
    """``{"mode", "note", "results"}`` for ``query`` over the agent's ready
    documents (those carrying any of ``tags``, when given).  The reads go to
    the database thread, but the query's embedding is fetched on a thread of
    its own, so that the embedding provider's latency holds up no other run's
    or request's database work."""
    found = await sync_to_async(_begin)(agent_id, config, query, top_k, tags)
    vector = await sync_to_async(_query_vector, thread_sensitive=False)(found)
    return await sync_to_async(_end)(found, vector)


@dataclass
class _Search:
    """A search between its reads: the full-text ranks, and the model to embed the query with."""

    agent_id: uuid.UUID
    query: str
    top_k: int
    document_ids: list[uuid.UUID] | None
    pool: int
    ranked: dict[str, list[tuple[int, float]]]
    model: EmbeddingModel | None
    note: str


def _begin(agent_id, config: dict, query: str, top_k: int, tags: list[str] | None) -> _Search:
    query = (query or "").strip()[:MAX_QUERY_CHARS]
    document_ids = _tagged_documents(agent_id, tags) if tags else None
    pool = max(top_k * 4, 20)
    ranked = {FULL_TEXT: full_text_search(agent_id, query, limit=pool, document_ids=document_ids)}
    note = "No embedding model is configured, so this is full-text search only."
    try:
        model = embedding_model(config)
    except EmbeddingUnavailable as exc:
        model, note = None, f"{exc} Full-text search only."
    return _Search(agent_id, query, top_k, document_ids, pool, ranked, model if query else None, note)


def _query_vector(found: _Search) -> list[float] | None:
    """The query's embedding (no database: any thread), or ``None`` with a note saying why."""
    if found.model is None:
        return None
    try:
        return _query_client(found.model).embed([found.query]).vectors[0]
    except ProviderError as exc:
        logger.warning("Query embedding failed for agent %s: %s", found.agent_id, exc.message)
        found.note = f"The embedding model failed ({exc.message}); full-text search only."
        return None


def _end(found: _Search, vector: list[float] | None) -> dict:
    mode = FULL_TEXT
    if vector is not None:
        found.ranked[VECTOR] = vector_search(found.agent_id, found.model.key, vector, limit=found.pool,
                                             document_ids=found.document_ids)
        mode = "hybrid"
        found.note = f"Full text and vectors ({found.model.key}), fused by reciprocal rank."
    return {"mode": mode, "note": found.note,
            "results": _results(found.ranked, found.top_k, fused=mode == "hybrid")}


_clients: dict[tuple, EmbeddingClient] = {}
_clients_lock = threading.Lock()
MAX_CLIENTS = 16


def _query_client(model: EmbeddingModel) -> EmbeddingClient:
    """One client (and its connection pool) per provider settings and model,
    kept for the process: a search should not pay for a new TLS connection.
    Changed settings (a new key or URL) make a new client."""
    provider = model.provider
    key = (provider.name, provider.base_url, provider.api_key, provider.timeout_seconds, model.model)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) >= MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))  # not closed: another thread may be using it
            client = _clients[key] = EmbeddingClient(provider, model.model)
    return client


def _tagged_documents(agent_id, tags: list[str]) -> list[uuid.UUID]:
    wanted = set(tags)
    return [pk for pk, document_tags in
            Document.objects.filter(agent_id=agent_id, status=DocumentStatus.READY).values_list("id", "tags")
            if wanted & set(document_tags or ())]


def fuse(ranked: dict[str, list[tuple[int, float]]]) -> list[tuple[int, float, list[str]]]:
    """Reciprocal rank fusion of each retriever's ``(id, score)`` lists:
    ``(id, fused score, retrievers that found it)``, best first."""
    scores: dict[int, float] = {}
    found: dict[int, list[str]] = {}
    for retriever, hits in ranked.items():
        for rank, (chunk_id, _score) in enumerate(hits, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
            found.setdefault(chunk_id, []).append(retriever)
    order = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))
    return [(chunk_id, scores[chunk_id], found[chunk_id]) for chunk_id in order]


def _results(ranked: dict, top_k: int, *, fused: bool) -> list[dict]:
    if fused:
        best = fuse(ranked)[:top_k]
    else:
        best = [(chunk_id, score, [FULL_TEXT]) for chunk_id, score in ranked[FULL_TEXT][:top_k]]
    chunks = Chunk.objects.filter(id__in=[chunk_id for chunk_id, _s, _r in best]).select_related("document")
    by_id = {chunk.id: chunk for chunk in chunks}
    results = []
    for chunk_id, score, retrievers in best:
        chunk = by_id.get(chunk_id)
        if chunk is None:  # replaced or deleted since the vector index loaded it
            continue
        results.append({"document_id": chunk.document.document_id, "filename": chunk.document.filename,
                        "page": chunk.page, "chunk": chunk.ordinal, "heading": chunk.heading,
                        "score": round(score, 6), "text": chunk.text, "retrievers": retrievers})
    return results
