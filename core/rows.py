"""Model instances from the columns of a statement written once per process.

For the reads made on every request or run (the API token, ``accounts``;
one agent, ``agents.sql``; a provider, ``agents.providers``), building and
compiling the queryset cost several times what the database takes to answer
(docs/PERFORMANCE.md).  :class:`ModelColumns` names a model's columns for
such a statement and turns its part of a row back into an instance, each
value converted as the ORM's compiler converts it (a UUID from SQLite's
text, an aware datetime, a JSON value), so the instance is the one the ORM
would give; :func:`row_by` is the simplest such statement.  The default
database only, as everywhere in Agentry.
"""

from __future__ import annotations

import functools

from django.db import connection


class ModelColumns:
    """Every concrete column of ``model``, read from the table (or alias) ``alias``."""

    def __init__(self, model, alias: str):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]

    def __len__(self) -> int:
        return len(self.fields)

    def select(self) -> str:
        """The columns, quoted, for a ``SELECT`` list."""
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(self.alias)}.{quote(field.column)}" for field in self.fields)

    def instance(self, values):
        """The instance for ``values``, this model's columns of a row, in order."""
        converted = [value if value is None or not converters else _convert(value, converters)
                     for value, converters in zip(values, _converters_for(self), strict=True)]
        return self.model.from_db(connection.alias, self.attnames, converted)


class JoinedColumns:
    """The columns of several models side by side in one row (a join), in order."""

    def __init__(self, *columns: ModelColumns):
        self.columns = columns

    def select(self) -> str:
        return ", ".join(columns.select() for columns in self.columns)

    def instances(self, row) -> list:
        """One instance per model, from its part of ``row``."""
        found, start = [], 0
        for columns in self.columns:
            found.append(columns.instance(row[start:start + len(columns)]))
            start += len(columns)
        return found


def fetch_one(sql: str, params: list) -> tuple | None:
    """The first row of ``sql`` run with ``params``, or ``None``."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def row_by(model, field_name: str, value):
    """The ``model`` instance whose (unique) ``field_name`` is ``value``, or
    ``None``: one statement, written once per process for the pair."""
    sql, columns = _row_by_sql(model, field_name)
    row = fetch_one(sql, [model._meta.get_field(field_name).get_db_prep_value(value, connection)])
    return None if row is None else columns.instance(row)


@functools.cache
def _row_by_sql(model, field_name: str) -> tuple[str, ModelColumns]:
    table = model._meta.db_table
    columns, quote = ModelColumns(model, table), connection.ops.quote_name
    column = quote(model._meta.get_field(field_name).column)
    return f"SELECT {columns.select()} FROM {quote(table)} WHERE {quote(table)}.{column} = %s", columns


def _convert(value, converters: tuple):
    for converter, expression in converters:
        value = converter(value, expression, connection)
    return value


@functools.cache
def _converters_for(columns: ModelColumns) -> list[tuple]:
    """Per column, what ``SQLCompiler.get_converters`` would apply: the
    backend's converters, then the field's own, with the expression they take."""
    result = []
    for field in columns.fields:
        column = field.get_col(columns.alias)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        result.append(tuple((converter, column) for converter in converters))
    return result
