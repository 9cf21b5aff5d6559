"""Limit/offset and keyset-cursor pagination in one class.

Every list answers ``{"data": [...], "meta": {total, limit, offset, has_more,
next_cursor, prev_cursor}}``.  Cursors are keyset positions over the list's
sort key plus ``id`` as tie-breaker, so a page costs the same at any depth and
rows inserted between requests never shift or repeat what a client sees.

Views declare ``sort_fields`` (allowed names) and ``default_sort``, and may
lower the page size limit with ``max_limit``; a view's
``sort_keys`` may map a public name to the model field that orders it (say
``{"name": "name_key"}``, a case-folded copy, so every database sorts alike).
A view may also count its rows itself with ``count_rows(queryset) -> int``
(an exact count the database answers from an index, say); by default the
total is ``queryset.count()``.  A view whose rows the database cannot read
in an index's order sets ``page_keys_first`` (:func:`rows_in_order`).  A
view that reads its page without a queryset (a statement written once per
process) calls :meth:`AgentryPagination.paginate` with its own ``count`` and
``read``: the page's rows are whatever ``read`` gives for the
:class:`PageWindow` the request names, and :meth:`PageWindow.of` is what the
ORM would read.  Rows that are not instances say where they sit with
``position(row) -> (sort value, pk)``.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from core.datetimes import as_utc
from core.errors import ApiError, ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Databases take 64-bit offsets; far below that, a deeper page is a client bug
# (and cursors serve deep walks at constant cost).
MAX_OFFSET = 1_000_000_000


class InvalidCursor(ApiError):
    status, code = 400, "invalid_cursor"


def _parse_int(request, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be an integer.", errors={name: ["Must be an integer."]})
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationFailed(f"{name} must be {bound}.", errors={name: [f"Must be {bound}."]})
    return value


def resolve_sort(request, view) -> str:
    """The validated ``sort`` parameter (``field`` or ``-field``)."""
    sort = request.query_params.get("sort") or getattr(view, "default_sort", "-created_at")
    allowed = getattr(view, "sort_fields", ("created_at",))
    if sort.lstrip("-") not in allowed:
        choices = ", ".join(sorted(allowed))
        raise ValidationFailed(f"sort must be one of: {choices} (prefix - for descending).",
                               errors={"sort": [f"Unknown sort field. Choose from: {choices}."]})
    return sort


@dataclass(frozen=True)
class PageWindow:
    """The rows one page reads: ordered by ``field``, then ``id``, descending
    or not; past ``position`` (a cursor's ``(op, value, pk)``: keys ``"lt"``
    or ``"gt"`` than ``value``, ties broken by ``pk`` the same way) or else
    from ``offset``; ``size`` rows at most (one more than the page holds,
    which tells whether there are more)."""

    field: str
    descending: bool
    position: tuple[str, Any, Any] | None
    offset: int
    size: int

    def ordering(self) -> list[str]:
        prefix = "-" if self.descending else ""
        return [f"{prefix}{self.field}", f"{prefix}id"]

    def of(self, queryset, *, keys_first: bool = False) -> list:
        """The window's rows of ``queryset``, read through the ORM
        (``keys_first``: see :func:`rows_in_order`)."""
        return rows_in_order(self._past_position(queryset), self.ordering(), self.offset, self.offset + self.size,
                             keys_first=keys_first)

    def keys(self, queryset):
        """The primary keys of the window's rows of ``queryset``, as a
        queryset (in order, sliced) for a statement to select from."""
        return self._past_position(queryset).order_by(*self.ordering()).values("pk")[
            self.offset:self.offset + self.size]

    def _past_position(self, queryset):
        if self.position is None:
            return queryset
        op, value, pk = self.position
        return queryset.filter(Q(**{f"{self.field}__{op}": value}) | Q(**{self.field: value, f"id__{op}": pk}))


def rows_in_order(queryset, ordering: list[str], start: int, stop: int, *, keys_first: bool = False) -> list:
    """Rows ``start:stop`` of ``queryset`` ordered by ``ordering``.  With
    ``keys_first``, in the same one statement, the database orders the rows'
    keys alone and reads the whole rows of the window only: for a list it
    cannot read in an index's order (the executions of many agents, merged
    from each agent's index), sorting every row whole took 80 ms at 50,000
    executions, sorting their keys 5."""
    ordered = queryset.order_by(*ordering)
    if not keys_first:
        return list(ordered[start:stop])
    return list(queryset.filter(pk__in=ordered.values("pk")[start:stop]).order_by(*ordering))


class AgentryPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        count_rows = getattr(view, "count_rows", None)
        keys_first = getattr(view, "page_keys_first", False)
        return self.paginate(request, view, model=queryset.model,
                             count=(lambda: count_rows(queryset)) if count_rows is not None else queryset.count,
                             read=lambda window: window.of(queryset, keys_first=keys_first))

    def paginate(self, request, view, *, model, count: Callable[[], int], read: Callable[[PageWindow], list],
                 position: Callable[[Any], tuple[Any, Any]] | None = None) -> list:
        """The page the request asks for of ``count()`` rows of ``model``,
        ``read(window)`` giving the rows of each window it needs, each row at
        ``position(row)`` (by default its sort field's value and its ``pk``)."""
        self.request = request
        maximum = getattr(view, "max_limit", MAX_LIMIT)
        self.limit = _parse_int(request, "limit", min(DEFAULT_LIMIT, maximum), minimum=1, maximum=maximum)
        self.offset = 0
        self.sort = resolve_sort(request, view)
        self.field = getattr(view, "sort_keys", {}).get(self.sort.lstrip("-"), self.sort.lstrip("-"))
        self.descending = self.sort.startswith("-")
        self.model_field = model._meta.get_field(self.field)
        if self.model_field.null:
            # A keyset needs a total order; NULLs would fall out of the comparisons.
            raise ImproperlyConfigured(f"Cannot sort a paginated list by nullable field {self.field!r}.")
        self.position = position or (lambda row: (getattr(row, self.field), row.pk))

        self.total = count()
        cursor = request.query_params.get("cursor")
        if cursor:
            direction, value, pk = self._decode(cursor)
            rows = self._keyset_page(read, direction, value, pk)
        else:
            self.offset = _parse_int(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)
            rows = read(PageWindow(self.field, self.descending, None, self.offset, self.limit + 1))
            self.has_next = len(rows) > self.limit
            rows = rows[: self.limit]
            self.has_prev = self.offset > 0
        self.first, self.last = (rows[0], rows[-1]) if rows else (None, None)
        return rows

    # --- keyset ----------------------------------------------------------

    def _keyset_page(self, read, direction: str, value, pk):
        forward = direction == "n"
        # Moving forward in a descending list means smaller keys, and so on;
        # a page read backwards is read in reverse order and turned round.
        smaller = self.descending == forward
        window = PageWindow(self.field, self.descending == forward, ("lt" if smaller else "gt", value, pk),
                            0, self.limit + 1)
        rows = read(window)
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if forward:
            self.has_next, self.has_prev = more, True
        else:
            rows.reverse()
            self.has_next, self.has_prev = True, more
        return rows

    def _encode(self, row, direction: str) -> str:
        value, pk = self.position(row)
        payload = {"s": self.sort, "d": direction,
                   "v": value.isoformat() if hasattr(value, "isoformat") else value, "id": str(pk)}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, cursor: str):
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if payload["s"] != self.sort or payload["d"] not in ("n", "p"):
                raise ValueError("cursor belongs to another sort order")
            value = self.model_field.to_python(payload["v"])
            if isinstance(value, datetime):
                value = as_utc(value)
            pk = self.model_field.model._meta.pk.to_python(payload["id"])
            if value is None or pk is None:
                raise ValueError("empty cursor position")
        except Exception:  # any garbage (base64, JSON, type, value) means the same to the client
            raise InvalidCursor("Invalid cursor parameter.",
                                errors={"cursor": ["Malformed or belongs to another sort order."]})
        return payload["d"], value, pk

    # --- response --------------------------------------------------------

    def meta(self) -> dict:
        return OrderedDict(
            total=self.total,
            limit=self.limit,
            offset=self.offset,
            has_more=self.has_next,
            next_cursor=self._encode(self.last, "n") if self.has_next and self.last is not None else None,
            prev_cursor=self._encode(self.first, "p") if self.has_prev and self.first is not None else None,
        )

    def get_paginated_response(self, data):
        return Response({"data": data, "meta": self.meta()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {
                    "type": "object",
                    "properties": {
                        "total": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "has_more": {"type": "boolean"},
                        "next_cursor": {"type": "string", "nullable": True},
                        "prev_cursor": {"type": "string", "nullable": True},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        def param(name, description, schema):
            return {"name": name, "required": False, "in": "query", "description": description, "schema": schema}

        sort_fields = getattr(view, "sort_fields", ("created_at",))
        maximum = getattr(view, "max_limit", MAX_LIMIT)
        return [
            param("limit", f"Page size, 1–{maximum} (default {min(DEFAULT_LIMIT, maximum)}).",
                  {"type": "integer", "minimum": 1, "maximum": maximum}),
            param("offset", "Rows to skip (ignored when cursor is given).",
                  {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
            param("cursor", "Opaque cursor from meta.next_cursor or meta.prev_cursor.", {"type": "string"}),
            param("sort", f"Sort field, prefix '-' for descending: {', '.join(sort_fields)}.",
                  {"type": "string", "default": getattr(view, "default_sort", "-created_at")}),
        ]
