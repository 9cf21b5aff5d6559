"""ASGI entry point: ``daphne config.asgi:application`` serves HTTP and the
threads' WebSockets (``/ws/agents/{agent}/threads/{thread}/``) from one process."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from accounts.websocket import WebSocketAuthStack  # noqa: E402
from executions.conversations.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": WebSocketAuthStack(URLRouter(websocket_urlpatterns)),
})
