"""The in-process vector index is a cache of the database: it follows
inserts and deletes by revision, and its HNSW graph answers like the exact scan."""

import numpy as np
import pytest

from executions.knowledge import vectors
from executions.knowledge.models import Chunk, Document, KnowledgeBase
from executions.knowledge.services.documents import document_delete, revision_bump


def add_document(agent, name, rows):
    document = Document.objects.create(agent=agent, document_id=name, filename=f"{name}.txt", kind="txt",
                                       file_size=1, sha256="", storage_name="", status="ready")
    Chunk.objects.bulk_create([Chunk(agent=agent, document=document, ordinal=i, text=f"{name} {i}",
                                     embedding=vectors.pack(v), embedding_model="m") for i, v in enumerate(rows)])
    revision_bump(agent.pk)
    return document


@pytest.mark.django_db
def test_index_follows_inserts_and_deletes(agent):
    KnowledgeBase.objects.create(agent=agent)
    first = add_document(agent, "a", [[1, 0, 0], [0, 1, 0]])
    assert [cid for cid, _ in vectors.vector_search(agent.pk, "m", [1, 0, 0], limit=5)] == [
        first.chunks.get(ordinal=0).id]

    second = add_document(agent, "b", [[0.9, 0.1, 0]])
    hits = vectors.vector_search(agent.pk, "m", [1, 0, 0], limit=5)
    assert [cid for cid, _ in hits] == [first.chunks.get(ordinal=0).id, second.chunks.get().id]
    assert hits[0][1] == pytest.approx(1.0)

    document_delete(document=first)
    assert [cid for cid, _ in vectors.vector_search(agent.pk, "m", [1, 0, 0], limit=5)] == [second.chunks.get().id]
    # another model's vectors, and a query of other dimensions, find nothing
    assert vectors.vector_search(agent.pk, "other", [1, 0, 0], limit=5) == []
    assert vectors.vector_search(agent.pk, "m", [1, 0], limit=5) == []


@pytest.mark.django_db
def test_hnsw_answers_like_the_exact_scan(agent, settings):
    settings.AGENTRY_KNOWLEDGE_ANN_MIN_VECTORS = 50
    KnowledgeBase.objects.create(agent=agent)
    rng = np.random.default_rng(3)
    add_document(agent, "many", rng.standard_normal((200, 16)).tolist())
    query = rng.standard_normal(16).tolist()

    exact = vectors.vector_search(agent.pk, "m", query, limit=10)  # exact while the graph builds
    index = vectors.index_for(agent.pk, "m")
    assert index.wait_for_ann(timeout=60)
    approximate = vectors.vector_search(agent.pk, "m", query, limit=10)

    assert index.ann is not None
    assert len({cid for cid, _ in exact} & {cid for cid, _ in approximate}) >= 9
    assert approximate[0][0] == exact[0][0] and approximate[0][1] == pytest.approx(exact[0][1], abs=1e-4)

    # and it follows changes too
    document_delete(document=Document.objects.get())
    assert vectors.vector_search(agent.pk, "m", query, limit=10) == []
