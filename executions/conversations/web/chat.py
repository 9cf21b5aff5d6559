"""One thread's page: the conversation, sending a message, renaming, stopping.

The page renders the stored messages; ``static/console/chat.js`` then opens
the thread's WebSocket (``/ws/agents/{agent}/threads/{thread}/``) from
``follow_seq`` (``selectors.thread_follow_seq``, read before the messages), so
a turn still streaming is replayed from its start and continued live, after
a reload as after a dropped connection.  Without JavaScript the forms post
here and go through the same validation and services as ``POST /chat``,
``PATCH /threads/{thread}`` and ``POST /threads/{thread}/cancel``.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from accounts.roles import Role
from core.errors import ApiError
from core.validation import validated
from core.web.forms import add_service_errors
from executions.conversations import selectors
from executions.conversations.inputs import ChatRequestSerializer
from executions.conversations.services import threads, turns
from executions.conversations.web.conversation import conversation_from
from executions.conversations.web.forms import MessageForm, ThreadRenameForm
from executions.conversations.web.threads import ChatPageMixin, ThreadActionView

MESSAGES_SHOWN = 200  # the newest; the API pages through all of them


class ThreadView(ChatPageMixin, TemplateView):
    """``/agents/<ref>/chat/<thread>/``: GET reads (viewer); POST sends a message
    (operator, own thread)."""

    template_name = "console/chat/thread.html"

    def get(self, request, *args, **kwargs):
        self.thread = self.get_thread()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        thread = self.thread
        follow_seq = selectors.thread_follow_seq(thread.pk)  # before the messages: see its docstring
        total = thread.message_count
        rows = list(selectors.message_list(thread=thread).order_by("-created_at", "-id")[:MESSAGES_SHOWN])
        conversation = conversation_from(reversed(rows))
        writable = self.role.at_least(Role.OPERATOR) and selectors.may_write(thread, self.request.user)
        context.update(self.thread_list_context())
        context.update(
            thread=thread, conversation=conversation, follow_seq=follow_seq, writable=writable,
            running=bool(thread.driver), truncated=len(rows) == MESSAGES_SHOWN and total > MESSAGES_SHOWN,
            ws_path=f"/ws/agents/{self.agent.slug}/threads/{thread.pk}/",
            chat_state={"followSeq": follow_seq, "answered": conversation.answered_ids},
        )
        if writable:
            context.setdefault("message_form", kwargs.get("message_form") or MessageForm())
            context.setdefault("rename_form", kwargs.get("rename_form") or ThreadRenameForm(
                initial={"title": thread.title}))
        return context

    def post(self, request, *args, **kwargs):
        thread = self.thread = self.get_thread(write=True)
        form = MessageForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(message_form=form), status=400)
        try:
            body = validated(ChatRequestSerializer(data={"thread_id": str(thread.pk),
                                                         "message": form.cleaned_data["message"]}))
            turns.chat_submit(agent=self.agent, thread=thread, actor=self.actor(), content=body["message"])
        except ApiError as error:
            add_service_errors(form, error)
            return self.render_to_response(self.get_context_data(message_form=form), status=error.status)
        return redirect(self.thread_url(thread))


class ThreadRenameView(ThreadView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        thread = self.thread = self.get_thread(write=True)
        form = ThreadRenameForm(request.POST)
        if form.is_valid():
            try:
                threads.thread_update(thread=thread, actor=self.actor(), data={"title": form.cleaned_data["title"]})
            except ApiError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Renamed to “{thread.title}”.")
                return redirect(self.thread_url(thread))
        return self.render_to_response(self.get_context_data(rename_form=form), status=400)


class ThreadCancelView(ThreadActionView):
    """Stop the running turn (the page's Stop button without JavaScript; with
    it, the button sends ``{"type": "cancel"}`` on the socket)."""

    def act(self, thread) -> str:
        if turns.turn_cancel(thread=thread):
            messages.success(self.request, "The running turn was stopped.")
        else:
            messages.info(self.request, "No turn was running.")
        return self.thread_url(thread)
