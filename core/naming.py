"""Picking a free name: ``base``, else ``base (2)``, ``base (3)``…"""

from __future__ import annotations

from collections.abc import Collection


def first_free(base: str, taken: Collection[str], *, max_length: int = 100, first: str | None = None,
               numbered: str = "{base} ({n})") -> str:
    """The first name not in ``taken``: ``first`` (default ``base``), then
    ``numbered`` with n = 2, 3, …; ``base`` is cut so each fits ``max_length``."""
    candidate = (first if first is not None else base)[:max_length]
    n = 2
    while candidate in taken:
        room = max_length - len(numbered.format(base="", n=n))
        candidate = numbered.format(base=base[:room], n=n)
        n += 1
    return candidate
