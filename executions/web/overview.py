"""An agent's overview tab: its status and runtime (with start, stop and
redeploy for admins), what it has, its last executions, the run panel for
operators, and its usage charts.  When the run panel's run ends, htmx asks
for the last executions again and gets only that section back."""

from django.shortcuts import render
from django.views.generic import TemplateView

from agents import selectors as agent_selectors
from agents.web.base import AgentPageMixin
from executions.analytics import agent_usage
from executions.selectors import execution_list_for_agent
from executions.web.charts import UsageMixin
from executions.web.run import run_form_for

RECENT_EXECUTIONS = 10


class AgentOverviewView(UsageMixin, AgentPageMixin, TemplateView):
    template_name = "console/executions/agent_overview.html"
    tab = "overview"
    agent_representation = True
    recent_template = "console/executions/includes/recent_executions.html"

    def get(self, request, *args, **kwargs):
        if request.htmx and request.htmx.target == "recent-executions":
            return render(request, self.recent_template, {"agent": self.agent, "executions": self.recent_executions()})
        return super().get(request, *args, **kwargs)

    def recent_executions(self) -> list:
        return list(execution_list_for_agent(agent=self.agent)[:RECENT_EXECUTIONS])

    def usage_for(self, days: int) -> dict:
        return agent_usage(self.agent, days=days)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        agent = self.agent
        context.update(
            stats=agent_selectors.agent_stats(agent),
            runtime=agent_selectors.runtime_status(agent),
            redeploy_required=agent_selectors.redeploy_required(agent),
            executions=self.recent_executions(),
            run_form=run_form_for(agent) if context["can"]["operate"] else None,
        )
        return context
