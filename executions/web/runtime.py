"""Start, stop and redeploy an agent from its overview: the same services and
the same role (admin) as ``POST /agents/{agent}/start|stop|redeploy``."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views import View

from accounts.roles import Role
from agents.services import runtime
from agents.web.base import AgentPageMixin
from core.errors import ApiError


def _start(agent, actor) -> str:
    agent = runtime.agent_start(agent=agent, actor=actor)
    return f"Started: serving version {agent.deployed_version}."


def _stop(agent, actor) -> str:
    runtime.agent_stop(agent=agent, actor=actor)
    return "Stopped: schedules and the heartbeat are paused."


def _redeploy(agent, actor) -> str:
    agent, redeployed = runtime.agent_redeploy(agent=agent, actor=actor)
    if not redeployed:
        return "The agent is stopped: the next start deploys the working configuration."
    return f"Redeployed: serving version {agent.deployed_version}."


ACTIONS = {"start": _start, "stop": _stop, "redeploy": _redeploy}


class AgentRuntimeView(AgentPageMixin, View):
    """``POST action=start|stop|redeploy``; the outcome is a flash message on the overview."""

    http_method_names = ["post"]
    write_role = Role.ADMIN

    def post(self, request, *args, **kwargs):
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            messages.error(request, "Unknown runtime action: choose start, stop or redeploy.")
        else:
            try:
                messages.success(request, action(self.agent, self.actor()))
            except ApiError as error:  # a paused or disabled agent cannot start
                messages.error(request, error.detail)
        return redirect("console:agent", self.agent.slug)
