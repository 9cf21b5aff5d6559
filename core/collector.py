"""Python's garbage collector, set for a long-running server process.

A web or worker process allocates thousands of objects per request or run,
so the collector's youngest generation (every 700 allocations by default)
ran several times per request, and every tenth of those also scanned the
objects that had survived one: Django's models, URL patterns, templates and
everything else loaded at start-up among them.  Collecting it every
``AGENTRY_GC_THRESHOLD`` allocations instead, with what start-up loaded
frozen out of the scans (``gc.freeze``), made an invoke 5% faster at the
median and 8% on average in an interleaved comparison (docs/PERFORMANCE.md).
Cycles are still collected; each collection finds more of them at once.
"""

from __future__ import annotations

import gc

from django.conf import settings


def tune_for_serving() -> None:
    """Call once, when the process has loaded what it serves with.  No full
    collection first: after Django's set-up one found nothing to free and
    took 64 ms of the process's start."""
    gc.freeze()
    if settings.AGENTRY_GC_THRESHOLD is not None:
        _young, *older = gc.get_threshold()
        gc.set_threshold(settings.AGENTRY_GC_THRESHOLD, *older)
