"""The full-text index of chunks, in each database's own form:

- SQLite: an FTS5 table over ``knowledge_chunk`` (external content, kept by
  triggers), ranked with BM25.  ``agent_id`` is an indexed column so a query
  matches one agent's rows only, without scanning the others'.
- PostgreSQL: a generated ``tsvector`` column (heading weighted above the
  text) with a GIN index, ranked with ``ts_rank_cd``.

Nothing here needs an extension (no pgvector: vectors live in
``knowledge_chunk.embedding``).
"""

from django.db import migrations

from core.vendor_sql import statements_by_vendor

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE knowledge_chunk_fts USING fts5(
        agent_id, heading, "text", content='knowledge_chunk', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER knowledge_chunk_fts_insert AFTER INSERT ON knowledge_chunk BEGIN
        INSERT INTO knowledge_chunk_fts(rowid, agent_id, heading, "text")
        VALUES (new.id, new.agent_id, new.heading, new."text");
    END""",
    """CREATE TRIGGER knowledge_chunk_fts_delete AFTER DELETE ON knowledge_chunk BEGIN
        INSERT INTO knowledge_chunk_fts(knowledge_chunk_fts, rowid, agent_id, heading, "text")
        VALUES ('delete', old.id, old.agent_id, old.heading, old."text");
    END""",
    """CREATE TRIGGER knowledge_chunk_fts_update AFTER UPDATE OF agent_id, heading, "text" ON knowledge_chunk BEGIN
        INSERT INTO knowledge_chunk_fts(knowledge_chunk_fts, rowid, agent_id, heading, "text")
        VALUES ('delete', old.id, old.agent_id, old.heading, old."text");
        INSERT INTO knowledge_chunk_fts(rowid, agent_id, heading, "text")
        VALUES (new.id, new.agent_id, new.heading, new."text");
    END""",
    "INSERT INTO knowledge_chunk_fts(knowledge_chunk_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS knowledge_chunk_fts_insert",
    "DROP TRIGGER IF EXISTS knowledge_chunk_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_chunk_fts_update",
    "DROP TABLE IF EXISTS knowledge_chunk_fts",
]
POSTGRES_FORWARD = [
    """ALTER TABLE knowledge_chunk ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(heading, '')), 'A') ||
        setweight(to_tsvector('english', coalesce("text", '')), 'B')) STORED""",
    "CREATE INDEX knowledge_chunk_search_vector ON knowledge_chunk USING GIN (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS knowledge_chunk_search_vector",
    "ALTER TABLE knowledge_chunk DROP COLUMN IF EXISTS search_vector",
]


class Migration(migrations.Migration):

    dependencies = [("knowledge", "0001_initial")]

    operations = [
        statements_by_vendor({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD},
                             {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
    ]
