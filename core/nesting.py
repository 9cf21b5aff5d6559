"""How deeply JSON data from outside may nest.

Everything that walks JSON data recurses: the ``json`` module itself, DRF's
fields, jsonschema (several Python frames per level), the templates'
``tojson``, our own walkers.  A document nested a few hundred levels deep
makes one of them raise ``RecursionError``, which would be a 500.  So data
from outside (request bodies, an HTTP node's response, a model's JSON) is
refused once, where it is parsed, when it nests deeper than
``AGENTRY_MAX_JSON_DEPTH``; everything after it may recurse freely.
"""

from __future__ import annotations

import json

from django.conf import settings


class NestedTooDeep(ValueError):
    """The data nests deeper than the limit (a ``ValueError``, like any other JSON that will not do)."""

    def __init__(self, limit: int):
        super().__init__(f"nested deeper than {limit} levels")
        self.limit = limit


def nesting_limit() -> int:
    return settings.AGENTRY_MAX_JSON_DEPTH


def nesting_check(value):
    """``value`` itself, unless its lists and objects nest deeper than the
    limit: then ``NestedTooDeep``.  ``[]`` is one level,
    ``[[]]`` two.  It walks level by level, so it never recurses whatever it
    is given, and stops at the first level past the limit."""
    limit = nesting_limit()
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise NestedTooDeep(limit)
        below = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend([child for child in children if isinstance(child, (dict, list))])
        level = below
    return value


def json_loads(text: str | bytes):
    """``json.loads`` for data from outside: a document nested deeper than the
    limit raises ``NestedTooDeep`` (a ``ValueError``, so callers that already
    treat JSON that does not parse as text need nothing more) instead of being
    returned, or of the decoder's own ``RecursionError``."""
    try:
        value = json.loads(text)
    except RecursionError:  # far past the limit
        raise NestedTooDeep(nesting_limit()) from None
    return nesting_check(value)
