"""core.db.sqlite3: Django's SQLite backend with each statement's
placeholders converted once; what it converts is what Django converts."""

import sqlite3

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper as DjangosCursor

from core.db.sqlite3 import base

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend")


@pytest.fixture(autouse=True)
def empty_cache():
    base._qmark_cached.cache_clear()
    yield
    base._qmark_cached.cache_clear()


def _convert(query, param_names=None):
    return sqlite3.connect(":memory:").cursor(factory=base.SQLiteCursorWrapper).convert_query(
        query, param_names=param_names)


@pytest.mark.parametrize("query", [
    "SELECT 1",
    "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)",
    "SELECT '100%%' || %s",
    "SELECT a FROM t WHERE b LIKE '%%x%%' ESCAPE '\\' AND c = %s",
])
def test_it_converts_as_djangos_cursor_does(query):
    assert _convert(query) == DjangosCursor.convert_query(None, query)


def test_named_placeholders_are_djangos_too():
    query = "SELECT %(a)s, %(b)s"

    assert _convert(query, ["a", "b"]) == DjangosCursor.convert_query(None, query, param_names=["a", "b"]) == (
        "SELECT :a, :b")


def test_a_statement_is_converted_once_then_found():
    query = "SELECT a FROM t WHERE b = %s"

    first, second = _convert(query), _convert(query)

    assert first == second == "SELECT a FROM t WHERE b = ?"
    info = base._qmark_cached.cache_info()
    assert (info.misses, info.hits, info.currsize) == (1, 1, 1)


def test_a_long_statement_is_converted_but_not_kept():
    query = "INSERT INTO t (a) VALUES " + ", ".join(["(%s)"] * base.CACHED_UP_TO)

    assert _convert(query) == DjangosCursor.convert_query(None, query)
    assert base._qmark_cached.cache_info().currsize == 0


def test_the_cache_holds_only_the_most_recent_statements():
    for n in range(base.CACHED_STATEMENTS + 10):
        _convert(f"SELECT {n}, %s")

    assert base._qmark_cached.cache_info().currsize == base.CACHED_STATEMENTS


@sqlite_only
@pytest.mark.django_db
def test_the_default_connection_reads_through_it():
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, base.SQLiteCursorWrapper)
        cursor.execute("SELECT '100%%', %s, %s", [7, "x"])
        assert cursor.fetchone() == ("100%", 7, "x")
        cursor.execute("SELECT %(n)s", {"n": 3})
        assert cursor.fetchone() == (3,)
