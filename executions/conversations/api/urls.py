"""Routes of threads and chat (API.md §6)."""

from django.urls import re_path

from executions.conversations.api.threads import ChatViewSet, ThreadViewSet

AGENT = r"^agents/(?P<agent>[^/]+)"
THREAD = AGENT + r"/threads/(?P<thread>[^/]+)"
threads = ThreadViewSet.as_view

urlpatterns = [
    re_path(AGENT + r"/threads/?$", threads({"get": "list", "post": "create", "delete": "destroy_by_query"}),
            name="agent-thread-list"),
    re_path(THREAD + r"/?$", threads({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
            name="agent-thread-detail"),
    re_path(THREAD + r"/messages/?$", threads({"get": "messages"}), name="agent-thread-messages"),
    re_path(THREAD + r"/cancel/?$", threads({"post": "cancel"}), name="agent-thread-cancel"),
    re_path(THREAD + r"/stream/?$", threads({"get": "stream"}), name="agent-thread-stream"),
    re_path(AGENT + r"/chat/?$", ChatViewSet.as_view({"post": "create"}), name="agent-chat"),
]
