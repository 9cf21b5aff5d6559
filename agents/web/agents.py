"""The agents list: the API's filters, sort keys and cursor pagination over
the same selector, as a page whose table htmx swaps when a filter changes
(and a plain GET form without JavaScript)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView
from rest_framework.request import Request

from agents import selectors
from agents.api.agents import AgentViewSet
from agents.api.filters import AgentFilter
from core.errors import ApiError
from core.filters import filters_given
from core.pagination import AgentryPagination

SORT_CHOICES = [
    ("name", "Name (A–Z)"),
    ("-name", "Name (Z–A)"),
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("-last_activity", "Recently active"),
    ("last_activity", "Least recently active"),
    ("-updated_at", "Recently changed"),
]


class AgentListFilter(AgentFilter):
    """The API's agent filters, labelled for people."""

    LABELS = {"q": "Search", "status": "Status", "runtime_state": "Runtime", "tag": "Tag"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in self.LABELS.items():
            self.filters[name].label = label
        self.filters["tag"].extra["help_text"] = ""
        self.filters["q"].extra["widget"] = forms.TextInput(attrs={"type": "search"})
        self.filters["tag"].extra["widget"] = forms.TextInput(attrs={"list": "agent-tags"})
        for name in ("status", "runtime_state"):
            self.filters[name].extra["empty_label"] = "Any"


class AgentListView(LoginRequiredMixin, TemplateView):
    template_name = "console/agents/list.html"
    results_template_name = "console/agents/includes/list_results.html"
    # What the pagination reads from its view, as the API's viewset declares it.
    sort_fields = AgentViewSet.sort_fields
    sort_keys = AgentViewSet.sort_keys
    default_sort = "name"
    max_limit = 100

    def count_rows(self, queryset) -> int:
        """The page's total: with no filter given, the user's agents as the
        API's plain list counts them (one row, not a scan of every agent:
        8 ms at 10,000 agents); filtered, as the API's filtered list does."""
        if filters_given(self.request.GET, AgentListFilter):
            return selectors.agent_list_count(user=self.request.user, agents=queryset, memberships=self.memberships)
        return self.memberships

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.history_restore_request:
            return [self.results_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        self.memberships = selectors.agent_count_for_user(user)  # how the lists find the agents, and the total
        filters = AgentListFilter(self.request.GET, request=self.request,
                                  queryset=selectors.agent_list_for_user(user=user, memberships=self.memberships))
        tag_names = selectors.agent_tag_names_for_user(user=user, memberships=self.memberships)
        context.update(filters=filters, sort=self.request.GET.get("sort") or self.default_sort,
                       sort_choices=SORT_CHOICES, tag_names=tag_names, agents=[], page_error=None,
                       page_errors={}, total=0)
        if not filters.is_valid():
            return context
        paginator = AgentryPagination()
        try:
            agents = paginator.paginate_queryset(filters.qs, Request(self.request), view=self)
        except ApiError as exc:  # a bad sort, limit or cursor (400)
            context.update(page_error=exc.detail, page_errors=exc.errors or {})
            return context
        meta = paginator.meta()
        context.update(agents=agents, total=meta["total"], next_url=_page_url(self.request.GET, meta["next_cursor"]),
                       prev_url=_page_url(self.request.GET, meta["prev_cursor"]))
        return context

    def render_to_response(self, context, **kwargs):
        bad = not context["filters"].is_valid() or context["page_error"]
        return super().render_to_response(context, status=400 if bad else 200, **kwargs)


def _page_url(query, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    page = query.copy()
    page.pop("offset", None)
    page["cursor"] = cursor
    return f"?{page.urlencode()}"
