"""Reads of the knowledge base: an agent's documents, and search."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from core import rows
from core.errors import NotFound
from executions.knowledge import search as hybrid
from executions.knowledge.config import knowledge_config
from executions.knowledge.models import Document, DocumentStatus


def document_list_for_agent(*, agent, status: str | None = None) -> QuerySet[Document]:
    """The agent's documents, newest first."""
    documents = Document.objects.filter(agent=agent)
    return documents.filter(status=status) if status else documents


def agent_has_ready_documents(agent) -> bool:
    """Whether the agent has a document ready to search (every chat turn
    asks, to offer its model the knowledge tool): one statement written once."""
    return rows.exists_where(Document, agent=agent.pk, status=DocumentStatus.READY)


def document_status_counts(*, agent) -> dict[str, int]:
    """How many of the agent's documents are in each status, and in all (one query)."""
    return Document.objects.filter(agent=agent).aggregate(
        total=Count("pk"), **{status: Count("pk", filter=Q(status=status)) for status in DocumentStatus.values})


def document_get_for_agent(*, agent, document_id: str) -> Document:
    """The agent's document named ``document_id``; 404 when it has none."""
    document = Document.objects.filter(agent=agent, document_id=document_id).first()
    if document is None:
        raise NotFound("Document not found.")
    return document


async def knowledge_search(agent, query: str, *, top_k: int = 5, tags: list[str] | None = None) -> dict:
    """Search ``agent``'s knowledge base (its own documents only):
    ``{"mode": "hybrid" | "full_text", "note", "results": [{document_id,
    filename, page, chunk, score, text, retrievers}]}``.  It may call the
    embedding model over HTTP, off the database thread."""
    return await hybrid.search(agent_id=agent.pk, config=agent.config, query=query, top_k=top_k, tags=tags)


async def knowledge_search_for_definition(agent_id, config: dict, query: str, *, top_k: int | None = None,
                                          tags: list[str] | None = None) -> dict:
    """The same from async code, for a run or the search endpoint: the
    definition's own config picks the embedding model, and the embedding
    call holds no other run's or request's database work."""
    top_k = top_k or knowledge_config(config)["top_k"]
    return await hybrid.search(agent_id=agent_id, config=config, query=query, top_k=top_k, tags=tags)
