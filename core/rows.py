"""Model instances from the columns of a statement written once per process.

For the reads made on every request or run (the API token, ``accounts``;
one agent, ``agents.sql``; a provider, ``agents.providers``), building and
compiling the queryset cost several times what the database takes to answer
(docs/PERFORMANCE.md).  :class:`ModelColumns` names a model's columns for
such a statement and turns its part of a row back into an instance, each
value converted as the ORM's compiler converts it (a UUID from SQLite's
text, an aware datetime, a JSON value), so the instance is the one the ORM
would give; :func:`row_by`, :func:`values_where`, :func:`count_where` and
:func:`exists_where` are the simplest such statements.

The writes every run makes (its execution, steps and events, its outcome)
go the same way: :func:`insert` and :func:`update` write a statement per
model and shape once per process and prepare each value as the ORM's
compiler prepares it (``Field.pre_save``, then ``get_db_prep_save``), where
``QuerySet.update`` and ``bulk_create`` spent a quarter of a millisecond
building each statement on a run's path.  No signals are sent, as with
``bulk_create`` and ``QuerySet.update``.  The default database only, as
everywhere in Agentry.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections


def _db():
    """This thread's default connection itself.  ``django.db.connection`` is a
    proxy that looks the connection up again at every attribute, and a run's
    outcome prepares some ninety values, each reaching the connection several
    times: a tenth of the outcome's time went to those lookups."""
    return connections[DEFAULT_DB_ALIAS]


class ModelColumns:
    """Every concrete column of ``model`` (or those of ``names``), read from
    the table (or alias) ``alias``."""

    def __init__(self, model, alias: str, names: tuple[str, ...] | None = None):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields) if names is None else [
            model._meta.get_field(name) for name in names]
        self.attnames = [field.attname for field in self.fields]

    def __len__(self) -> int:
        return len(self.fields)

    def select(self) -> str:
        """The columns, quoted, for a ``SELECT`` list."""
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(self.alias)}.{quote(field.column)}" for field in self.fields)

    def values(self, values) -> list:
        """``values``, these columns of a row in order, as the ORM converts them."""
        db = _db()
        return [value if value is None or not converters else _convert(value, converters, db)
                for value, converters in zip(values, _converters_for(self), strict=True)]

    def instance(self, values):
        """The instance for ``values``, this model's columns of a row, in order."""
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, self.values(values))


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


def column(alias: str, model, name: str) -> str:
    """The quoted column of ``model``'s field ``name`` in the table (or alias) ``alias``."""
    quote = connection.ops.quote_name
    return f"{quote(alias)}.{quote(model._meta.get_field(name).column)}"


def pk_value(model, pk):
    """``pk`` as ``model``'s primary key is written in a statement."""
    return model._meta.pk.get_db_prep_value(pk, _db())


def execute(sql: str, params: list) -> int:
    """Run ``sql`` with ``params``; the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def fetch_one(sql: str, params: list) -> tuple | None:
    """The first row of ``sql`` run with ``params``, or ``None``."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: list) -> list[tuple]:
    """Every row of ``sql`` run with ``params``."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def row_by(model, field_name: str, value):
    """The ``model`` instance whose (unique) ``field_name`` is ``value``, or
    ``None``: one statement, written once per process for the pair."""
    sql, columns, where_fields = _select_where_sql(model, None, (field_name,))
    row = fetch_one(sql, _where_values(where_fields, [value]))
    return None if row is None else columns.instance(row)


def values_where(model, names: tuple[str, ...], **where) -> list | None:
    """The values of the ``names`` fields of the one ``model`` row whose
    ``where`` fields equal their values (a unique key), or ``None``: one
    statement, written once per process for the shape."""
    sql, columns, where_fields = _select_where_sql(model, names, tuple(where))
    row = fetch_one(sql, _where_values(where_fields, where.values()))
    return None if row is None else columns.values(row)


def count_where(model, **where) -> int:
    """How many ``model`` rows have ``where`` fields equal to their values
    (every row, with none given): one statement, written once per process for
    the shape."""
    sql, where_fields = _count_where_sql(model, tuple(where))
    return fetch_one(sql, _where_values(where_fields, where.values()))[0]


def exists_where(model, **where) -> bool:
    """Whether some ``model`` row has ``where`` fields equal to their values:
    one statement, written once per process for the shape."""
    sql, where_fields = _exists_where_sql(model, tuple(where))
    return fetch_one(sql, _where_values(where_fields, where.values())) is not None


def _where_values(fields: list, values) -> list:
    db = _db()
    return [field.get_db_prep_value(value, db) for field, value in zip(fields, values, strict=True)]


def _where(model, matched: tuple[str, ...]) -> tuple[str, list]:
    """``FROM`` ``model``'s table ``WHERE`` the ``matched`` fields equal parameters, and those fields."""
    table, fields = model._meta.db_table, [model._meta.get_field(name) for name in matched]
    conditions = " AND ".join(f"{column(table, model, field.name)} = %s" for field in fields)
    return f"FROM {connection.ops.quote_name(table)}" + (f" WHERE {conditions}" if fields else ""), fields


@functools.cache
def _select_where_sql(model, names: tuple[str, ...] | None, matched: tuple[str, ...]) -> tuple[str, ModelColumns, list]:
    """``SELECT`` the ``names`` columns (every one for ``None``) of the row whose ``matched`` fields are given."""
    columns = ModelColumns(model, model._meta.db_table, names)
    where, where_fields = _where(model, matched)
    return f"SELECT {columns.select()} {where}", columns, where_fields


@functools.cache
def _count_where_sql(model, matched: tuple[str, ...]) -> tuple[str, list]:
    where, where_fields = _where(model, matched)
    return f"SELECT COUNT(*) {where}", where_fields


@functools.cache
def _exists_where_sql(model, matched: tuple[str, ...]) -> tuple[str, list]:
    where, where_fields = _where(model, matched)
    return f"SELECT 1 {where} LIMIT 1", where_fields


def _convert(value, converters: tuple, db):
    for converter, expression in converters:
        value = converter(value, expression, db)
    return value


@functools.cache
def _converters_for(columns: ModelColumns) -> list[tuple]:
    """Per column, what ``SQLCompiler.get_converters`` would apply: the
    backend's converters, then the field's own, with the expression they take."""
    result = []
    for field in columns.fields:
        expression = field.get_col(columns.alias)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        result.append(tuple((converter, expression) for converter in converters))
    return result


# --- writing ------------------------------------------------------------------------------------

def insert(model, objs: Sequence) -> None:
    """INSERT ``objs``, instances of ``model``, in as few statements as the
    database's parameter limit allows.  Those whose primary key is an
    automatic one left unset get the database's (``RETURNING``), as
    ``bulk_create`` gives them; afterwards every instance is saved, as
    ``bulk_create`` leaves it."""
    automatic = model._meta.pk.db_returning  # an AutoField: the database numbers rows that have no id
    numbered = [obj for obj in objs if not automatic or obj.pk is not None]
    unnumbered = [obj for obj in objs if automatic and obj.pk is None]
    for group, with_pk in ((numbered, True), (unnumbered, False)):
        if not group:
            continue
        fields = _insert_fields(model, with_pk)
        size = _db().ops.bulk_batch_size(fields, group) or len(group)
        for start in range(0, len(group), size):
            _insert_batch(model, fields, group[start:start + size], with_pk)
    for obj in objs:
        obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS


def update(model, pk, changes: dict, **where) -> int:
    """Set ``changes`` (field name → plain value, not an expression) on the
    ``model`` row whose primary key is ``pk`` and whose ``where`` fields equal
    their values; the number of rows changed (0 or 1), as
    ``filter(...).update(...)`` returns."""
    sql, set_fields, where_fields = _update_sql(model, tuple(changes), tuple(where))
    db = _db()
    params = [field.get_db_prep_save(value, db) for field, value in zip(set_fields, changes.values())]
    params += [field.get_db_prep_value(value, db) for field, value in zip(where_fields, (pk, *where.values()))]
    return execute(sql, params)


@functools.cache
def _insert_fields(model, with_pk: bool) -> list:
    return [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]


def _insert_batch(model, fields: list, objs: Sequence, with_pk: bool) -> None:
    head, row, returning = _insert_sql(model, with_pk)
    db = _db()
    params = [field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs for field in fields]
    with db.cursor() as cursor:
        cursor.execute(f"{head} {', '.join([row] * len(objs))}{returning}", params)
        if returning:
            pk = model._meta.pk
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)


@functools.cache
def _insert_sql(model, with_pk: bool) -> tuple[str, str, str]:
    quote, fields = connection.ops.quote_name, _insert_fields(model, with_pk)
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) VALUES"
    returning = "" if with_pk else f" RETURNING {quote(model._meta.pk.column)}"
    return head, f"({', '.join(['%s'] * len(fields))})", returning


@functools.cache
def _update_sql(model, changed: tuple[str, ...], matched: tuple[str, ...]) -> tuple[str, list, list]:
    quote, get = connection.ops.quote_name, model._meta.get_field
    set_fields, where_fields = [get(name) for name in changed], [model._meta.pk, *(get(name) for name in matched)]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in set_fields)
    conditions = " AND ".join(f"{quote(field.column)} = %s" for field in where_fields)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}", set_fields, where_fields
