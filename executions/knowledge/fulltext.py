"""Full-text search over one agent's chunks, in each database's own engine
(the indexes are migration 0002's): SQLite FTS5 ranked by BM25, PostgreSQL
``tsvector`` ranked by ``ts_rank_cd``.  A query is its words OR-ed, so a
passage that has most of them ranks first and one that has some still
counts; common English words are left out of SQLite's query (PostgreSQL's
``english`` configuration drops them itself)."""

from __future__ import annotations

import re
import uuid

from django.db import connection

MAX_TERMS = 32
_WORD = re.compile(r"[^\W_]+")
STOP_WORDS = frozenset("""
a about above after again all am an and any are as at be because been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out
over own same she should so some such than that the their theirs them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your yours
""".split())


def query_terms(query: str) -> list[str]:
    """The distinct words of ``query`` worth searching for, in order."""
    words = [word for word in _WORD.findall(query.lower()) if word not in STOP_WORDS]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def full_text_search(agent_id: uuid.UUID, query: str, *, limit: int,
                     document_ids: list[uuid.UUID] | None = None) -> list[tuple[int, float]]:
    """``(chunk id, score)`` best first (higher is better), at most ``limit``;
    ``document_ids`` restricts the search to those documents."""
    terms = query_terms(query)
    if not terms or document_ids == []:
        return []
    if connection.vendor == "postgresql":
        return _postgres(agent_id, terms, limit, document_ids)
    return _sqlite(agent_id, terms, limit, document_ids)


def _sqlite(agent_id, terms, limit, document_ids):
    words = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
    match = f'agent_id : "{agent_id.hex}" AND {{heading text}} : ({words})'
    rank = "bm25(knowledge_chunk_fts, 0.0, 2.0, 1.0)"
    sql = f"SELECT f.rowid, -{rank} FROM knowledge_chunk_fts f"
    params: list = []
    if document_ids is not None:
        marks = ", ".join(["%s"] * len(document_ids))
        sql += f" JOIN knowledge_chunk c ON c.id = f.rowid AND c.document_id IN ({marks})"
        params += [document.hex for document in document_ids]
    sql += f" WHERE knowledge_chunk_fts MATCH %s ORDER BY {rank}, f.rowid LIMIT %s"
    params += [match, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def _postgres(agent_id, terms, limit, document_ids):
    sql = ("SELECT c.id, ts_rank_cd(c.search_vector, q) AS score "
           "FROM knowledge_chunk c, to_tsquery('english', %s) q "
           "WHERE c.agent_id = %s AND c.search_vector @@ q")
    params: list = [" | ".join(terms), agent_id]
    if document_ids is not None:
        sql += " AND c.document_id = ANY(%s)"
        params.append(list(document_ids))
    sql += " ORDER BY score DESC, c.id LIMIT %s"
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]
