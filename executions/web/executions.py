"""Executions: the list across every agent the user sees and an agent's own
(the API's filters and cursor pagination), one execution's page with its
waterfall, live while it runs, and cancelling it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView
from rest_framework.request import Request

from accounts.permissions import require_role
from accounts.roles import Role
from agents.web.base import AgentPageMixin, role_flags
from core.errors import ApiError
from core.pagination import AgentryPagination
from executions import selectors
from executions.api.filters import ExecutionFilter
from executions.models import FINISHED_STATUSES
from executions.services import runs
from executions.web.waterfall import execution_waterfall, pretty_json

PAGE_SIZE = 50


class ExecutionListFilter(ExecutionFilter):
    """The API's filters, with labels and date pickers for a person."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = self.form.fields
        for name in ("status", "trigger"):
            fields[name].empty_label = "Any"
            fields[name].widget.choices = fields[name].choices  # the widget copied them with the old label
        for name, label in (("since", "Created from"), ("until", "Created before")):
            fields[name].label = label
            fields[name].widget = forms.DateInput(attrs={"type": "date"})
            fields[name].help_text = "A date (UTC)."


class _Listing:
    """What the API's pagination reads from its view."""

    sort_fields = ("created_at",)
    default_sort = "-created_at"
    max_limit = PAGE_SIZE  # also the default page size
    # Every execution of the agents a user sees is merged from each agent's
    # index: the page's keys are sorted, not its rows (core.pagination.rows_in_order).
    page_keys_first = True


def filtered_page(request, queryset) -> dict:
    """The filter form and one page of ``queryset`` filtered by it, paginated
    as the API pages (a keyset cursor over ``-created_at, -id``)."""
    filters = ExecutionListFilter(request.GET, queryset=queryset)
    if not filters.is_valid():
        return {"filters": filters, "executions": [], "page": None}
    paginator = AgentryPagination()
    rows = paginator.paginate_queryset(filters.qs, Request(request), view=_Listing)
    return {"filters": filters, "executions": rows, "page": paginator.meta()}


class ExecutionListView(LoginRequiredMixin, TemplateView):
    """Every execution of the agents the user sees."""

    template_name = "console/executions/list.html"

    def get_context_data(self, **kwargs):
        queryset = selectors.execution_list_for_user(user=self.request.user)
        return {**super().get_context_data(**kwargs), **filtered_page(self.request, queryset)}


class AgentExecutionListView(AgentPageMixin, TemplateView):
    """The agent's executions tab."""

    template_name = "console/executions/agent_executions.html"
    tab = "executions"

    def get_context_data(self, **kwargs):
        queryset = selectors.execution_list_for_agent(agent=self.agent)
        return {**super().get_context_data(**kwargs), **filtered_page(self.request, queryset)}


class ExecutionPageMixin(LoginRequiredMixin):
    """Finds the execution through its agent's visibility (404 otherwise) and
    checks the role: viewer to read, operator to cancel, as the API does."""

    read_role = Role.VIEWER
    write_role = Role.OPERATOR

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.execution = selectors.execution_get_for_user(user=request.user, execution_id=kwargs["execution_id"])
        self.role = Role(self.execution.agent.role)
        require_role(self.role, self.read_role if request.method in ("GET", "HEAD") else self.write_role)
        return super().dispatch(request, *args, **kwargs)


class ExecutionDetailView(ExecutionPageMixin, TemplateView):
    """The execution; htmx polls ``#execution-live`` every second while it is
    unfinished and gets only that part back."""

    template_name = "console/executions/detail.html"

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "execution-live":
            return ["console/executions/includes/execution_live.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        execution = self.execution
        steps = selectors.execution_trace(execution)
        return {**super().get_context_data(**kwargs), "execution": execution, "agent": execution.agent,
                "role": self.role, "can": role_flags(self.role),
                "finished": execution.status in FINISHED_STATUSES,
                "waterfall": execution_waterfall(execution, steps),
                "input_json": pretty_json(execution.input), "output_json": pretty_json(execution.output),
                "error_json": pretty_json(execution.error)}


class ExecutionCancelView(ExecutionPageMixin, View):
    """``POST``: cancel through ``runs.execution_cancel``, like ``POST /executions/{id}/cancel``."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            execution = runs.execution_cancel(execution=self.execution)
        except ApiError as error:  # already finished
            messages.error(request, error.detail)
        else:
            messages.success(request, "Cancelled." if execution.status == "cancelled"
                             else "Cancellation requested: the run stops at its next check.")
        return redirect("console:execution", self.execution.pk)
