"""Cursor pages for the console's lists, cut by the API's own paginator.

``core.pagination.AgentryPagination`` is what every API list uses: a keyset
over the sort key plus ``id``, so a page costs two queries (the count and the
rows) at any depth and rows added meanwhile never shift what a reader sees.
The console wraps the Django request for it and turns its cursors into
"newer" / "older" links that keep the page's other query parameters (filters).
A malformed cursor is the API's 400 ``invalid_cursor``, which
``ConsoleErrorMiddleware`` renders as an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from rest_framework.request import Request

from core.pagination import AgentryPagination


@dataclass(frozen=True)
class CursorPage:
    rows: list
    total: int
    next_url: str | None
    prev_url: str | None

    @property
    def paginated(self) -> bool:
        return bool(self.next_url or self.prev_url)


def cursor_page(request, queryset, *, sort_fields: tuple[str, ...], default_sort: str,
                max_limit: int = 50) -> CursorPage:
    """One page of ``queryset`` for ``request`` (``?cursor=``, ``?sort=``, ``?limit=``)."""
    paginator = AgentryPagination()
    view = SimpleNamespace(sort_fields=sort_fields, default_sort=default_sort, max_limit=max_limit)
    rows = paginator.paginate_queryset(queryset, Request(request), view=view)
    meta = paginator.meta()
    return CursorPage(rows=rows, total=meta["total"], next_url=_with_cursor(request, meta["next_cursor"]),
                      prev_url=_with_cursor(request, meta["prev_cursor"]))


def _with_cursor(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.GET.copy()
    query.pop("offset", None)
    query["cursor"] = cursor
    return f"{request.path}?{query.urlencode()}"
