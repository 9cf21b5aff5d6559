"""The agents list."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import ListView

from agents import selectors


class AgentListView(LoginRequiredMixin, ListView):
    template_name = "console/agents/list.html"
    context_object_name = "agents"
    paginate_by = 50

    def get_queryset(self):
        return selectors.agent_list_for_user(user=self.request.user).order_by("name_key", "id")
