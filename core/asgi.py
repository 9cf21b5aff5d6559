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
"""

import functools

import django
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponseBase


class SharedThreadASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    def make_view_atomic(self, view):
        view = super().make_view_atomic(view)
        if iscoroutinefunction(view) or self._template_response_middleware:
            return view
        return _rendering(view)


def _rendering(view):
    """The sync ``view``, its response rendered before it returns (on the thread it runs on)."""

    @functools.wraps(view)
    def rendering_view(request, *args, **kwargs):
        return rendered(view(request, *args, **kwargs))

    return rendering_view


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
