"""What every console page about one agent builds on.

``AgentPageMixin`` resolves ``<ref>`` through the same visibility selector as
the API (404 for an agent the user may not see, before any role is looked
at), checks the role the page needs for reading (``read_role``) and for
posting (``write_role``) with the same rule as the API, and gives templates
``agent``, ``role``, ``can`` (which controls to show) and the agent's tabs.
A session is an actor with every scope, so only roles limit the console.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import reverse

from accounts.actor import Actor
from accounts.permissions import require_role
from accounts.roles import Role
from agents import selectors
from core.web.navigation import tabs_for


def role_flags(role: Role) -> dict[str, bool]:
    """What ``role`` may do, for templates: ``can.operate`` (run, start, chat),
    ``can.edit`` (admin: configuration, versions, schedules, members),
    ``can.own`` (delete, transfer)."""
    return {"read": True, "operate": role.at_least(Role.OPERATOR), "edit": role.at_least(Role.ADMIN),
            "own": role.at_least(Role.OWNER)}


class AgentPageMixin(LoginRequiredMixin):
    """For Django class-based views under ``agents/<ref>/``."""

    agent_url_kwarg = "ref"
    read_role = Role.VIEWER
    write_role = Role.ADMIN
    tab = ""               # the key of the tab this page belongs to
    agent_representation = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.agent = selectors.agent_get_for_user(user=request.user, ref=kwargs[self.agent_url_kwarg],
                                                  representation=self.agent_representation)
        self.role = Role(self.agent.role)
        needed = self.read_role if request.method in ("GET", "HEAD", "OPTIONS") else self.write_role
        require_role(self.role, needed)
        return super().dispatch(request, *args, **kwargs)

    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(agent=self.agent, role=self.role, can=role_flags(self.role), tab=self.tab,
                       agent_tabs=[{"key": t.key, "label": t.label, "current": t.key == self.tab,
                                    "url": reverse(f"console:{t.url_name}", args=[self.agent.slug])}
                                   for t in tabs_for("agent") if self.role.at_least(Role(t.min_role))])
        return context
