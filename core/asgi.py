"""Django's ASGI handler, with every request's sync code on one shared thread.

Django's own handler opens an asgiref ``ThreadSensitiveContext`` per request,
so each request's sync views and ``sync_to_async`` calls run on a thread made
for that request, and each such thread opens its own database connection
(connections are per thread) and drops it at the end: ``CONN_MAX_AGE`` never
keeps one, and a new SQLite connection cost more than the rest of a plain
request (docs/PERFORMANCE.md).  Without that context, thread-sensitive code
runs on asgiref's one process-wide thread, as consumers, chat turns and any
``sync_to_async`` call outside a request already do, and that thread keeps
one persistent connection (checked before reuse: ``CONN_HEALTH_CHECKS``).

Sync views of concurrent requests then take turns on that thread; the GIL
made them take turns for Python work anyway, and what waits on the network
(LLM calls, streams, invokes) is async and runs on the event loop.

A sync view's response is rendered in the view's own trip to that thread
(:func:`rendered`).  Django's async handler renders a response with a
``render()`` (DRF's ``Response``, a ``TemplateResponse``) in a trip of its
own after the view's, and that trip cost about 0.1 ms of every API request
(docs/PERFORMANCE.md).  When template-response middleware is installed, it
must see the response before it renders, so Django renders as before.

Django's handler also sends ``request_started`` in a trip of its own before
anything else: its receivers (Django's ``close_old_connections`` and
``reset_queries``) act on the thread's database connection, so they run on
that thread.  Here they run at the start of the request's first trip
instead (:func:`send_request_started`): a sync view's, or the first of a
view that waits on the loop (``core.awaiting``); before any other async
view, in a trip as before.  A request that reaches no view (a static file,
an unknown URL, an early 413) sends it in the trip that closes its response,
just before ``request_finished``.  That trip cost 0.13–0.16 ms of every
request (docs/PERFORMANCE.md).
"""

import asyncio
import functools

import django
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpResponseBase
from django.urls import set_script_prefix

# Set on a request whose handler left ``request_started`` to its first trip: the sender to send it as.
_STARTED_BY = "_agentry_request_started_by"


class SharedThreadASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        """Django 5.2's ``ASGIHandler.handle``, but for where ``request_started``
        is sent (see the module's docstring); ``tests/core/test_asgi.py``
        fails when Django's changes, so that this copy is read again."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(_closed)(self.__class__, scope, error_response)
            return
        setattr(request, _STARTED_BY, self.__class__)

        async def process_request(request, send):
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client disconnected during send_response
            return response

        # The disconnect listener goes first: it must not raise, so that process_request can be cancelled.
        tasks = [asyncio.create_task(self.listen_for_disconnect(receive)),
                 asyncio.create_task(process_request(request, send))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass  # client disconnects are ignored
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()  # views may handle their cancellation
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await sync_to_async(_finished_unanswered)(self.__class__, request)
        else:
            await sync_to_async(_closed)(self.__class__, scope, response, request)
        body_file.close()

    def make_view_atomic(self, view):
        view = super().make_view_atomic(view)
        if iscoroutinefunction(view):
            return view if getattr(view, "sends_request_started", False) else _starting_first(view)
        return _on_thread(view, render=not self._template_response_middleware)


def sends_request_started(view):
    """Mark the async ``view`` as one that calls :func:`send_request_started`
    at the start of its first trip to the thread itself (``core.awaiting``)."""
    view.sends_request_started = True
    return view


def send_request_started(request) -> None:
    """Send ``request_started`` for ``request`` (Django's or DRF's) now, on the
    database thread, if its handler left it to this trip and it has not gone yet."""
    sender = getattr(request, "_request", request).__dict__.pop(_STARTED_BY, None)
    if sender is not None:
        signals.request_started.send(sender=sender, scope=request.scope)


def _closed(sender, scope, response: HttpResponseBase, request=None) -> None:
    """A response's closing trip: ``request_started`` first if nothing sent it, then
    ``response.close()`` (its closers, then ``request_finished``)."""
    if request is None:
        signals.request_started.send(sender=sender, scope=scope)
    else:
        send_request_started(request)
    response.close()


def _finished_unanswered(sender, request) -> None:
    """A request whose client left before its answer: ``request_finished``,
    after ``request_started`` if nothing sent it."""
    send_request_started(request)
    signals.request_finished.send(sender=sender)


def _starting_first(view):
    """The async ``view``, ``request_started`` sent in a trip before it."""

    @functools.wraps(view)
    async def starting_view(request, *args, **kwargs):
        await sync_to_async(send_request_started)(request)
        return await view(request, *args, **kwargs)

    return starting_view


def _on_thread(view, *, render: bool):
    """The sync ``view``, ``request_started`` sent first and, with ``render``,
    its response rendered before it returns (on the thread it runs on)."""

    @functools.wraps(view)
    def on_thread_view(request, *args, **kwargs):
        send_request_started(request)
        response = view(request, *args, **kwargs)
        return rendered(response) if render else response

    return on_thread_view


def rendered(response: HttpResponseBase) -> HttpResponseBase:
    """``response`` rendered now, if it renders late, so that Django's async
    handler does not take it to the thread again to render it: its
    ``render`` becomes a coroutine function that returns it as it is.  Only
    for a response an async handler finishes (a sync handler would call
    ``render()`` and get a coroutine)."""
    render = getattr(response, "render", None)
    if not callable(render) or iscoroutinefunction(render):  # nothing to render, or Django awaits it here
        return response
    response = render()

    async def already_rendered():
        return response

    response.render = already_rendered
    return response


def get_asgi_application() -> SharedThreadASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the shared-thread handler."""
    django.setup(set_prefix=False)
    return SharedThreadASGIHandler()
