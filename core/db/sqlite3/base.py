"""Django's SQLite backend, each statement's placeholders converted once.

Django writes statements with ``%s`` placeholders, and its SQLite cursor
turns them into sqlite3's ``?`` with a regular expression at every execute:
24 µs for the agent detail's statement (2 KB), 8 µs for the API token's, in
every request that makes them (docs/PERFORMANCE.md).  The statements a
request or a run makes repeat, the ones ``core.rows`` writes once per process
above all, so the converted text is kept for the most recent of them.  A
statement longer than ``CACHED_UP_TO`` characters (a long ``IN`` list, a bulk
insert) is converted as before and not kept, which bounds what the cache
holds to about a megabyte.  Named (``%(name)s``) placeholders are converted
as Django converts them.

``ENGINE: "core.db.sqlite3"``; everything else is Django's backend.
"""

from __future__ import annotations

import functools

from django.db.backends.sqlite3 import base
from django.utils.asyncio import async_unsafe

CACHED_UP_TO = 4096
CACHED_STATEMENTS = 256


def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


_qmark_cached = functools.lru_cache(maxsize=CACHED_STATEMENTS)(_qmark)


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)
        return _qmark_cached(query) if len(query) <= CACHED_UP_TO else _qmark(query)


class DatabaseWrapper(base.DatabaseWrapper):
    @async_unsafe
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
