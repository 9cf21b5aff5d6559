"""Routes of threads and chat (API.md §6), relative to ``agents/{agent}/`` (``config.urls``)."""

from django.urls import re_path

from executions.conversations.api.threads import ChatViewSet, ThreadViewSet

THREAD = r"^threads/(?P<thread>[^/]+)"
threads = ThreadViewSet.as_view

agent_urlpatterns = [
    re_path(r"^chat/?$", ChatViewSet.as_view({"post": "create"}), name="agent-chat"),
    re_path(r"^threads/?$", threads({"get": "list", "post": "create", "delete": "destroy_by_query"}),
            name="agent-thread-list"),
    re_path(THREAD + r"/?$", threads({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
            name="agent-thread-detail"),
    re_path(THREAD + r"/messages/?$", threads({"get": "messages"}), name="agent-thread-messages"),
    re_path(THREAD + r"/cancel/?$", threads({"post": "cancel"}), name="agent-thread-cancel"),
    re_path(THREAD + r"/stream/?$", threads({"get": "stream"}), name="agent-thread-stream"),
]
