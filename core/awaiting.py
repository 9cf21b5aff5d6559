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

Under an async handler each trip's response is rendered in that trip
(``core.asgi.rendered``), and a work whose last step is a trip to the
thread anyway (a run's outcome) can build the answer there:
``Awaiting.drf(..., in_last_trip=True)`` hands ``work`` the function that
builds it.  An invoke then goes to the thread and back twice instead of
four times (docs/PERFORMANCE.md).

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
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseBase

from core.asgi import rendered, send_request_started, sends_request_started

logger = logging.getLogger("agentry")

# Answers whose client left: kept until they end (the loop holds tasks weakly).
_unawaited: set[asyncio.Task] = set()


class Awaiting(HttpResponse):
    """Not an answer yet: ``work()`` to await on the event loop, then
    ``answer(done)`` to build the response on the thread from its future."""

    def __init__(self, work: Callable[[], Coroutine], answer: Callable[[asyncio.Future], HttpResponseBase], *,
                 in_last_trip: bool = False):
        super().__init__(status=HTTPStatus.ACCEPTED)
        self.work, self.answer, self.in_last_trip = work, answer, in_last_trip

    @classmethod
    def drf(cls, view, request, work: Callable[..., Coroutine], respond: Callable[[Any], HttpResponseBase], *,
            in_last_trip: bool = False):
        """For the DRF ``view``: ``respond(what work() returned)``, or the problem
        of what either raised, finished as the view's ``dispatch`` finishes a response.

        ``in_last_trip``: ``work(answer)`` is called with the sync ``answer(value)``
        that builds that response, and calls it in its own last trip to the
        database thread, returning what it returned: that is the answer, with
        no trip of its own.  If the work raises instead, its problem is built
        in a trip as before."""
        def finish(build: Callable[[], HttpResponseBase]) -> HttpResponseBase:
            return _rendered_for(request, _finished(view, request, build))

        def answer(done: asyncio.Future) -> HttpResponseBase:
            return finish(lambda: respond(done.result()))

        if in_last_trip:
            return cls(lambda: work(lambda value: finish(lambda: respond(value))), answer, in_last_trip=True)
        return cls(work, answer)

    def answered(self, done: asyncio.Future) -> bool:
        """Whether the work, done, built the answer itself (``in_last_trip``)."""
        return (self.in_last_trip and not done.cancelled() and done.exception() is None
                and isinstance(done.result(), HttpResponseBase))


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
    return sends_request_started(functools.update_wrapper(awaiting_view, view))


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
    response = await sync_to_async(_viewed)(view, request, *args, **kwargs)
    if isinstance(response, Awaiting):
        done = asyncio.ensure_future(response.work())
        await asyncio.wait([done])  # raised or not, its outcome is the answer's to tell
        if response.answered(done):
            return done.result()
        response = await sync_to_async(_answered)(response, done, request)
    return response


def _viewed(view: Callable, request, *args, **kwargs) -> HttpResponseBase:
    send_request_started(request)  # under core.asgi's handler, this trip is the request's first
    response = view(request, *args, **kwargs)
    return response if isinstance(response, Awaiting) else _rendered_for(request, response)


def _answered(awaiting: Awaiting, done: asyncio.Future, request) -> HttpResponseBase:
    return _rendered_for(request, awaiting.answer(done))


def _rendered_for(request, response: HttpResponseBase) -> HttpResponseBase:
    """``response``, rendered now when an async handler serves ``request``
    (Django's or DRF's), which would otherwise render it in a trip of its own."""
    return rendered(response) if isinstance(getattr(request, "_request", request), ASGIRequest) else response


def _ended_unawaited(task: asyncio.Task) -> None:
    _unawaited.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("A request's answer failed after its client left", exc_info=task.exception())
