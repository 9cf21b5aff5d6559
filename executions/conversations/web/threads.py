"""The chat tab: an agent's threads (list, start, rename, archive, delete).

Every view calls what ``/api/v1/agents/{agent}/threads`` calls: the list
through ``selectors.thread_list``, writes through ``services.threads`` on a
thread fetched with ``thread_get(write=True)`` (only its creator, or staff,
may write: anyone else gets 404, as from the API), and posting needs the
operator role (``write_role``), as chatting does.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Role
from agents.web.base import AgentPageMixin
from core.errors import ApiError
from core.web.forms import add_service_errors
from executions.conversations import selectors
from executions.conversations.services import threads
from executions.conversations.web.forms import ThreadCreateForm

THREADS_PER_PAGE = 50


class ChatPageMixin(AgentPageMixin):
    """A page of the chat tab: viewers read, operators (on their own threads) write."""

    tab = "chat"
    write_role = Role.OPERATOR

    def thread_url(self, thread) -> str:
        return reverse("console:agent-thread", args=[self.agent.slug, thread.pk])

    def get_thread(self, *, write: bool = False):
        return selectors.thread_get(agent=self.agent, user=self.request.user, ref=self.kwargs["thread"], write=write)

    def thread_list_context(self, create_form=None) -> dict:
        """The thread list beside every chat page: yours (``?show=all``: every
        member's; the default for viewers, who start none), open
        (``?archived=1``: the archive), newest first."""
        show = self.request.GET.get("show") or ("mine" if self.role.at_least(Role.OPERATOR) else "all")
        show_all = show == "all"
        archived = self.request.GET.get("archived") == "1"
        rows = selectors.thread_list(agent=self.agent, archived=archived,
                                     created_by=None if show_all else self.request.user)
        page = Paginator(rows, THREADS_PER_PAGE).get_page(self.request.GET.get("page"))
        return {"threads": page, "show_all": show_all, "archived": archived,
                "create_form": create_form or ThreadCreateForm()}


class ChatView(ChatPageMixin, TemplateView):
    """``/agents/<ref>/chat/``: the thread list and a form to start one."""

    template_name = "console/chat/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.thread_list_context(kwargs.get("create_form")))
        return context

    def post(self, request, *args, **kwargs):
        form = ThreadCreateForm(request.POST)
        if form.is_valid():
            data = {"title": form.cleaned_data["title"]} if form.cleaned_data["title"] else {}
            try:
                thread = threads.thread_create(agent=self.agent, actor=self.actor(), data=data)
            except ApiError as error:
                add_service_errors(form, error)
                return self.render_to_response(self.get_context_data(create_form=form), status=error.status)
            return redirect(self.thread_url(thread))
        return self.render_to_response(self.get_context_data(create_form=form), status=400)


class ThreadActionView(ChatPageMixin, View):
    """A POST-only change to one of the user's threads, then back to a page."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        thread = self.get_thread(write=True)
        try:
            target = self.act(thread)
        except ApiError as error:  # e.g. the session limit when unarchiving
            messages.error(request, error.detail)
            target = self.thread_url(thread)
        return redirect(target)

    def act(self, thread) -> str:
        raise ImproperlyConfigured(f"{type(self).__name__} must define act(thread), returning where to go next.")


class ThreadArchiveView(ThreadActionView):
    """Archive (``archived=1``) or bring back (``archived=0``) a thread."""

    def act(self, thread) -> str:
        archive = self.request.POST.get("archived", "1") != "0"
        threads.thread_update(thread=thread, actor=self.actor(), data={"archived": archive})
        messages.success(self.request, f"“{thread.title}” {'archived' if archive else 'brought back'}.")
        return self.thread_url(thread)


class ThreadDeleteView(ThreadActionView):
    def act(self, thread) -> str:
        title = thread.title
        threads.thread_delete(thread=thread, actor=self.actor())
        messages.success(self.request, f"“{title}” deleted with its messages.")
        return reverse("console:agent-chat", args=[self.agent.slug])
