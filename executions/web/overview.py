"""An agent's overview tab."""

from django.views.generic import TemplateView

from agents.web.base import AgentPageMixin


class AgentOverviewView(AgentPageMixin, TemplateView):
    template_name = "console/executions/agent_overview.html"
    tab = "overview"
    agent_representation = True
