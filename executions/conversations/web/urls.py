"""The chat tab's pages (``console:agent-chat``, ``console:agent-thread``) and
the thread actions they post to."""

from django.urls import path

from executions.conversations.web import chat, threads

THREAD = "agents/<str:ref>/chat/<uuid:thread>/"

urlpatterns = [
    path("agents/<str:ref>/chat/", threads.ChatView.as_view(), name="agent-chat"),
    path(THREAD, chat.ThreadView.as_view(), name="agent-thread"),
    path(THREAD + "rename/", chat.ThreadRenameView.as_view(), name="chat-thread-rename"),
    path(THREAD + "archive/", threads.ThreadArchiveView.as_view(), name="chat-thread-archive"),
    path(THREAD + "delete/", threads.ThreadDeleteView.as_view(), name="chat-thread-delete"),
    path(THREAD + "cancel/", chat.ThreadCancelView.as_view(), name="chat-thread-cancel"),
]
