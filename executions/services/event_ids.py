"""Event ids handed out before the rows are written.

A run keeps its events in memory and writes them in batches
(``executions.services.recording``), yet each one is announced live at once
with the id it will be stored under: the SSE id a client may resume from with
``Last-Event-ID``.  So ids come from the database's own counter for the
events table, reserved a block at a time (one statement), the way an ORM's
"pooled" id generator does it.  Rows inserted without an id (the knowledge
ingestion, the reaper's ``done``) keep taking the counter's next value, which
is past every reserved block, so ids still only grow within an execution.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from executions.models import ExecutionEvent


def event_ids_reserve(count: int) -> list[int]:
    """``count`` fresh ids for ``ExecutionEvent`` rows, increasing; nobody
    else is given them.  Unused ones are simply never stored (ids may have
    gaps; they never repeat or go back)."""
    if count < 1:
        raise ValueError("reserve at least one id")
    table = ExecutionEvent._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # nextval never hands a value out twice, whatever the transactions around it do.
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return sorted(row[0] for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        return _sqlite_reserve(table, count)
    raise ImproperlyConfigured(f"Agentry runs on SQLite or PostgreSQL, not {connection.vendor}.")


def _sqlite_reserve(table: str, count: int) -> list[int]:
    """SQLite's AUTOINCREMENT gives a new row max(sqlite_sequence.seq, max id) + 1,
    so raising ``seq`` by ``count`` keeps the ids below it for us.  One
    statement, atomic like every SQLite write."""
    bump = "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq"
    with connection.cursor() as cursor:
        cursor.execute(bump, [count, table])
        row = cursor.fetchone()
        if row is None:
            # The table never had a row, so SQLite keeps no counter for it yet: start one, holding
            # the write lock (the UPDATE takes it) so two first reservations cannot both start it.
            with transaction.atomic():
                cursor.execute(bump, [count, table])
                row = cursor.fetchone()
                if row is None:
                    cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
                    row = (cursor.fetchone()[0] + count,)
                    cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, row[0]])
    top = row[0]
    return list(range(top - count + 1, top + 1))
