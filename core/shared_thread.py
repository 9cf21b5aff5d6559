"""The process's one database thread, as a place other work may be waiting for.

Under ASGI every request's sync code, every consumer and every chat turn's
database work takes turns on asgiref's one process-wide thread
(``core.asgi``).  Work done in a trip that is already on the thread saves
another trip, but it also holds back every call queued behind it.  Code that
may do more than its caller needs in this trip (a chat request starting its
turn's execution, ``executions.conversations.answer``) asks
:func:`others_waiting` first and leaves the extra work to a trip of its own
when anyone waits: a lone request gets the saving, and under load nobody
queues longer for it (docs/PERFORMANCE.md, fifteenth pass).
"""

from __future__ import annotations

from asgiref.sync import SyncToAsync


def others_waiting() -> bool:
    """Whether calls are queued for the shared thread, behind the one running.

    Read from the queue of asgiref's single-thread executor, a
    ``ThreadPoolExecutor`` whose ``_work_queue`` holds the calls submitted and
    not yet taken (CPython's since 3.2; ``tests/core/test_shared_thread.py``
    pins it).  Without that queue the answer is yes, the choice that makes
    nobody wait."""
    queue = getattr(SyncToAsync.single_thread_executor, "_work_queue", None)
    return queue is None or not queue.empty()
