"""WebSocket routes (served by ``config.asgi``)."""

from django.urls import re_path

from executions.conversations.consumers import ThreadConsumer

websocket_urlpatterns = [
    re_path(r"^ws/agents/(?P<agent>[^/]+)/threads/(?P<thread>[^/]+)/?$", ThreadConsumer.as_asgi()),
]
