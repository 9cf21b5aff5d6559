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
"""

import django
from django.core.handlers.asgi import ASGIHandler


class SharedThreadASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


def get_asgi_application() -> SharedThreadASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the shared-thread handler."""
    django.setup(set_prefix=False)
    return SharedThreadASGIHandler()
