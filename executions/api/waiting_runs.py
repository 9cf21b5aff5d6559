"""Synchronous runs wait for their model on the event loop, not on a thread.

Under ASGI every request's sync code takes turns on one shared thread
(``core.asgi``).  A synchronous run's view used to wait on that thread until
its run finished, and so held back every other request's sync code while the
model answered: with a model taking 200 ms, one web process served 4.6
invokes/s whether one client or sixteen asked, and no other page answered in
the meantime (docs/PERFORMANCE.md).

So the run endpoints' DRF view does only what needs the thread (authenticate,
check role and scope, parse, write the execution) and answers ``RunPending``
for a run it started.  The async view function :func:`awaiting_runs` wraps
around it, waits for the run on the event loop, where a model call holds no
thread, and then goes back to the DRF view to build the answer: the result,
or the run's problem.

A client that leaves does not stop its run, just as it did not when the view
waited on the thread.  The answer is made in a task that the request only
waits for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from http import HTTPStatus

from asgiref.sync import sync_to_async
from django.http import HttpResponse

from executions.models import Execution
from executions.services import runs

logger = logging.getLogger("agentry.executions")

# Answers whose client left: kept until they end (the loop holds tasks weakly).
_unawaited: set[asyncio.Task] = set()


class RunPending(HttpResponse):
    """Not an answer yet: an execution ``execution_start`` created as running,
    and how to answer once it has run (``answer(execution)``, on the thread)."""

    def __init__(self, execution: Execution, answer: Callable[[Execution], HttpResponse]):
        super().__init__(status=HTTPStatus.ACCEPTED)
        self.execution, self.answer = execution, answer


def awaiting_runs(view: Callable) -> Callable:
    """``view``, a DRF view function, as an async view that runs on the event
    loop each run it answers ``RunPending`` for; other answers pass as they are."""

    async def awaiting_view(request, *args, **kwargs):
        answering = asyncio.create_task(_answer(view, request, *args, **kwargs))
        try:
            return await asyncio.shield(answering)
        except asyncio.CancelledError:  # the client left: the run goes on, and only the log hears of a failure
            _unawaited.add(answering)
            answering.add_done_callback(_ended_unawaited)
            raise

    # The view class, its actions and csrf_exempt stay readable: the schema and CSRF look for them.
    return functools.update_wrapper(awaiting_view, view)


async def _answer(view: Callable, request, *args, **kwargs) -> HttpResponse:
    response = await sync_to_async(view)(request, *args, **kwargs)
    if isinstance(response, RunPending):
        execution = await runs.run_started(response.execution)
        response = await sync_to_async(response.answer)(execution)
    return response


def _ended_unawaited(task: asyncio.Task) -> None:
    _unawaited.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("A synchronous run's answer failed after its client left", exc_info=task.exception())
