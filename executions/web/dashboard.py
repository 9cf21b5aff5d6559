"""The console's home page."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from agents import selectors as agent_selectors


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "console/executions/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["agents"] = agent_selectors.agent_list_for_user(user=self.request.user).order_by("-last_activity")[:10]
        return context
