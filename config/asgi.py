"""ASGI entry point: ``uvicorn config.asgi:application`` (or granian, or
daphne: ``scripts/run.sh``) serves HTTP and the threads' WebSockets
(``/ws/agents/{agent}/threads/{thread}/``) from one process."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from accounts.websocket import WebSocketAuthStack  # noqa: E402
from executions.conversations.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": WebSocketAuthStack(URLRouter(websocket_urlpatterns)),
})

from core.collector import tune_for_serving  # noqa: E402

tune_for_serving()
