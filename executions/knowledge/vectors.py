"""Vector search over one agent's chunks, through an in-process index that
is a cache of the database (``Chunk.embedding`` is the source of truth).

Each process keeps one index per (agent, embedding model).  Before a search
it reads the agent's ``KnowledgeBase.revision``, one indexed row; when that
moved, it loads the vectors it lacks and drops those whose chunks are gone,
so every web process and worker answers from what is committed.  Small
indexes are searched exactly (one numpy matrix product); from
``AGENTRY_KNOWLEDGE_ANN_MIN_VECTORS`` vectors on, an HNSW graph (usearch)
answers instead, kept current the same way (``bench/knowledge_bench.py``
measured where that pays).

numpy loads with the first vector operation, not with this module: most
processes (every web process and worker imports the knowledge search) never
search vectors, and importing it cost start-up time and memory in each
(docs/PERFORMANCE.md).  usearch loads with the first HNSW build likewise.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from executions.knowledge.models import Chunk, KnowledgeBase

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger("agentry.knowledge")

LOAD_BATCH = 5000
# A vector pointing away from the query (cosine at or below zero) is no match,
# however few chunks there are: the retriever must be able to find nothing.
MIN_SIMILARITY = 0.0


def pack(vector) -> bytes:
    """A vector as stored: float32, little-endian."""
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def unpack(raw: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(raw, dtype="<f4")


def _normalised(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def _empty(*shape: int, dtype) -> np.ndarray:
    import numpy as np

    return np.empty(shape, dtype=dtype)


@dataclass
class _Index:
    revision: int = -1
    dimensions: int = 0
    ids: np.ndarray = field(default_factory=lambda: _empty(0, dtype="int64"))
    documents: np.ndarray = field(default_factory=lambda: _empty(0, dtype=object))
    matrix: np.ndarray = field(default_factory=lambda: _empty(0, 0, dtype="float32"))
    ann: object | None = None  # a usearch Index over the same ids, once the index is large
    building: bool = False  # an HNSW build is running in a thread
    lock: threading.Lock = field(default_factory=threading.Lock)

    def search(self, query: np.ndarray, limit: int, documents: set[str] | None) -> list[tuple[int, float]]:
        import numpy as np

        if not len(self.ids) or query.shape[0] != self.dimensions:
            return []
        query = _normalised(query.astype(np.float32))
        if self.ann is not None and documents is None:
            matches = self.ann.search(query, min(limit, len(self.ids)))
            hits = [(int(key), float(1.0 - distance)) for key, distance in zip(matches.keys, matches.distances)]
            return [hit for hit in hits if hit[1] > MIN_SIMILARITY]
        scores = self.matrix @ query
        if documents is not None:
            scores = np.where(np.isin(self.documents, list(documents)), scores, -np.inf)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > MIN_SIMILARITY]

    def refresh(self, agent_id, model: str, revision: int) -> None:
        """Make the index match the committed chunks of ``agent_id`` embedded by ``model``."""
        import numpy as np

        chunks = Chunk.objects.filter(agent_id=agent_id, embedding_model=model, embedding__isnull=False)
        current = np.fromiter(chunks.values_list("id", flat=True), dtype=np.int64)
        keep = np.isin(self.ids, current)
        missing = np.setdiff1d(current, self.ids, assume_unique=True)
        if not keep.all():
            if self.ann is not None:
                self.ann.remove(self.ids[~keep])
            self.ids, self.documents, self.matrix = self.ids[keep], self.documents[keep], self.matrix[keep]
        if len(missing):
            rows = (chunks.values_list("id", "document_id", "embedding") if len(missing) > len(current) // 2
                    else _rows_by_id(chunks, missing))
            self._add(list(rows))
        self._ann_sync()
        self.revision = revision

    def _add(self, rows: list) -> None:
        import numpy as np

        if not rows:
            return
        dimensions = self.dimensions or len(unpack(rows[0][2]))
        existing = set(self.ids.tolist())
        rows = [row for row in rows if len(row[2]) == dimensions * 4 and row[0] not in existing]
        if not rows:
            return
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        documents = np.array([str(row[1]) for row in rows], dtype=object)
        matrix = _normalised(np.vstack([unpack(row[2]) for row in rows]))
        if self.ann is not None:
            self.ann.add(ids, matrix)
        self.dimensions = dimensions
        self.ids = np.concatenate([self.ids, ids])
        self.documents = np.concatenate([self.documents, documents])
        self.matrix = matrix if not len(self.matrix) else np.vstack([self.matrix, matrix])

    def _ann_sync(self) -> None:
        """Start building the HNSW graph once the index is large; searches
        stay exact until it is ready.  Building 100k vectors takes tens of
        seconds, so it happens in a thread, from a snapshot, and is dropped
        if the index changed meanwhile (the next refresh starts another)."""
        large = len(self.ids) >= settings.AGENTRY_KNOWLEDGE_ANN_MIN_VECTORS
        if not large:
            self.ann = None
        elif self.ann is None and not self.building:
            self.building = True
            ids, matrix = self.ids.copy(), self.matrix.copy()
            threading.Thread(target=self._ann_build, args=(ids, matrix), daemon=True,
                             name="knowledge-ann-build").start()

    def _ann_build(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        import numpy as np

        try:
            ann = build_ann(ids, matrix)
        except Exception:  # exact search goes on serving
            logger.exception("Building the HNSW index failed")
            ann = None
        with self.lock:
            self.building = False
            if ann is not None and len(ids) == len(self.ids) and np.array_equal(ids, self.ids):
                self.ann = ann

    def wait_for_ann(self, timeout: float = 300.0) -> bool:
        """Wait until a background build finished (for benchmarks and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.building:
                    return self.ann is not None
            time.sleep(0.05)
        return False


def build_ann(ids: np.ndarray, matrix: np.ndarray):
    """An HNSW graph (cosine) over ``matrix``, keyed by ``ids``."""
    from usearch.index import Index

    index = Index(ndim=matrix.shape[1], metric="cos", dtype="f32", connectivity=16, expansion_add=64,
                  expansion_search=64)
    if len(ids):
        index.add(ids, matrix)
    return index


def _rows_by_id(chunks, ids: np.ndarray):
    for start in range(0, len(ids), LOAD_BATCH):
        batch = [int(i) for i in ids[start:start + LOAD_BATCH]]
        yield from chunks.filter(id__in=batch).values_list("id", "document_id", "embedding")


_indexes: dict[tuple[str, str], _Index] = {}
_indexes_lock = threading.Lock()


def vector_search(agent_id: uuid.UUID, model: str, query, *, limit: int,
                  document_ids: list[uuid.UUID] | None = None) -> list[tuple[int, float]]:
    """``(chunk id, cosine similarity)`` best first, at most ``limit``, among
    the chunks of ``agent_id`` that ``model`` embedded."""
    import numpy as np

    if document_ids == []:
        return []
    revision = KnowledgeBase.objects.filter(agent_id=agent_id).values_list("revision", flat=True).first()
    if revision is None:
        return []
    with _indexes_lock:
        index = _indexes.setdefault((str(agent_id), model), _Index())
    with index.lock:
        if index.revision != revision:
            index.refresh(agent_id, model, revision)
        else:
            index._ann_sync()  # a build dropped because the index changed meanwhile starts again
        documents = {str(document) for document in document_ids} if document_ids is not None else None
        return index.search(np.asarray(query, dtype=np.float32), limit, documents)


def index_for(agent_id, model: str) -> _Index | None:
    """The cached index, if this process has loaded one (benchmarks, tests)."""
    with _indexes_lock:
        return _indexes.get((str(agent_id), model))


def forget(agent_id=None) -> None:
    """Drop cached indexes (all, or one agent's): for tests and benchmarks."""
    with _indexes_lock:
        for key in [key for key in _indexes if agent_id is None or key[0] == str(agent_id)]:
            del _indexes[key]
