"""Database functions Django has, in a form that costs less on SQLite."""

from __future__ import annotations

from datetime import UTC

from django.db.models.functions import TruncDate


class UtcDate(TruncDate):
    """The UTC calendar day of a date-time, as ``TruncDate(expression,
    tzinfo=UTC)``.  On SQLite, which stores a date-time as UTC text, that is
    its built-in ``date()``: Django's ``TruncDate`` calls a function written
    in Python for every row there (``django_datetime_cast_date``), which took
    200 ms to group 50,000 executions by day.  Other databases run
    ``TruncDate``'s own SQL."""

    def __init__(self, expression, **extra):
        super().__init__(expression, tzinfo=UTC, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"date({sql})", params
