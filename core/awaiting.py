"""Sync views that wait on the event loop for what takes long: a run, a model call.

Under ASGI every request's sync code takes turns on one shared thread
(``core.asgi``).  A view that waited there for a run to finish, or for a
provider to answer, held back every other request's sync code for as long as
the wait lasted.  With a model taking 200 ms, one web process served 4.6
synchronous invokes/s whether one client asked or sixteen, and testing an
unreachable provider stopped every page for up to 30 s (docs/PERFORMANCE.md).

So such a view does on the thread only what needs the thread: authenticate,
check role and scope, parse, read and write rows.  It then answers
``Awaiting(work, answer)``.  The async view that :func:`awaits_on_loop` wraps
around it awaits ``work()`` on the event loop, where the wait holds no thread.
Back on the thread, ``answer(done)`` builds the response from the finished
future: ``done.result()`` returns the value or raises what ``work()`` raised.
A DRF view answers ``Awaiting.drf(...)`` instead, whose response is finished
as its ``dispatch`` would finish one, so an error still answers as problem+json.

A client that leaves does not stop the work, just as it did not when the view
waited on the thread.  The response is made in a task that the request only
waits for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpResponse, HttpResponseBase

logger = logging.getLogger("agentry")

# Answers whose client left: kept until they end (the loop holds tasks weakly).
_unawaited: set[asyncio.Task] = set()


class Awaiting(HttpResponse):
    """Not an answer yet: ``work()`` to await on the event loop, then
    ``answer(done)`` to build the response on the thread from its future."""

    def __init__(self, work: Callable[[], Coroutine], answer: Callable[[asyncio.Future], HttpResponseBase]):
        super().__init__(status=HTTPStatus.ACCEPTED)
        self.work, self.answer = work, answer

    @classmethod
    def drf(cls, view, request, work: Callable[[], Coroutine], respond: Callable[[Any], HttpResponseBase]):
        """For the DRF ``view``: ``respond(what work() returned)``, or the problem
        of what either raised, finished as the view's ``dispatch`` finishes a response."""
        return cls(work, lambda done: _finished(view, request, lambda: respond(done.result())))


def awaits_on_loop(view: Callable) -> Callable:
    """``view``, a sync view function, as an async view that awaits on the
    event loop the work of each ``Awaiting`` it answers; other answers pass as they are."""

    async def awaiting_view(request, *args, **kwargs):
        answering = asyncio.create_task(_answer(view, request, *args, **kwargs))
        try:
            return await asyncio.shield(answering)
        except asyncio.CancelledError:  # the client left: the work goes on, and only the log hears of a failure
            _unawaited.add(answering)
            answering.add_done_callback(_ended_unawaited)
            raise

    # A DRF view's class, actions and csrf_exempt stay readable: the schema and CSRF look for them.
    return functools.update_wrapper(awaiting_view, view)


def _finished(view, request, build: Callable[[], Any]) -> HttpResponseBase:
    """``build()``'s response, or its exception's problem, finished as the DRF
    ``view``'s ``dispatch`` finishes a response."""
    view.headers = view.default_response_headers
    try:
        response = build()
    except Exception as exc:
        response = view.handle_exception(exc)
    return view.finalize_response(request, response)


async def _answer(view: Callable, request, *args, **kwargs) -> HttpResponseBase:
    response = await sync_to_async(view)(request, *args, **kwargs)
    if isinstance(response, Awaiting):
        done = asyncio.ensure_future(response.work())
        await asyncio.wait([done])  # raised or not, its outcome is the answer's to tell
        response = await sync_to_async(response.answer)(done)
    return response


def _ended_unawaited(task: asyncio.Task) -> None:
    _unawaited.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("A request's answer failed after its client left", exc_info=task.exception())
