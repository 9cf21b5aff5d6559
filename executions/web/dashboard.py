"""The console's home page: usage across every agent the user sees, their
latest executions and the recently active agents."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from agents import selectors as agent_selectors
from executions.analytics import user_usage
from executions.selectors import execution_recent_for_user
from executions.web.charts import UsageMixin

RECENT = 10


class DashboardView(UsageMixin, LoginRequiredMixin, TemplateView):
    template_name = "console/executions/dashboard.html"

    def usage_for(self, days: int) -> dict:
        return user_usage(self.request.user, days=days)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["agents"] = agent_selectors.agents_visible_to(user).order_by("-last_activity", "-id")[:RECENT]
        context["executions"] = execution_recent_for_user(user=user, limit=RECENT)
        return context
