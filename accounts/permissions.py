"""Permission classes: each action declares the scope a token needs and the
least role the caller must hold on the agent (API.md §2), like DRF's
``perms_map``.

Views set ``rules = {"retrieve": Rule(Scope.AGENTS_READ, Role.VIEWER), ...}``;
agent-scoped views also provide ``get_agent()``, which answers 404 for agents
the caller cannot see, before any role is compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.permissions import BasePermission

from accounts.actor import Actor
from accounts.models import Scope
from accounts.roles import Role
from core.errors import Forbidden


@dataclass(frozen=True)
class Rule:
    scope: Scope
    role: Role | None = None  # None: not tied to one agent (list, create)


READ = Rule(Scope.AGENTS_READ)
WRITE = Rule(Scope.AGENTS_WRITE)


def require_scope(actor_or_request, scope: Scope) -> None:
    actor = actor_or_request if isinstance(actor_or_request, Actor) else Actor.from_request(actor_or_request)
    if scope not in actor.scopes:
        raise Forbidden(f"This API token lacks the {scope} scope.")


def require_role(role: Role | None, needed: Role) -> None:
    if role is None or not Role(role).at_least(needed):
        raise Forbidden(f"This action needs the {needed.label.lower()} role on this agent; you have "
                        f"{Role(role).label.lower() if role else 'none'}.")


class ActionRulePermission(BasePermission):
    """Checks the action's scope, then (for agent-scoped actions) the caller's role."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False  # DRF turns this into 401
        action = getattr(view, "action", None) or "metadata"
        rules = getattr(view, "rules", {})
        rule = rules.get(action) or (READ if action == "metadata" else None)
        if rule is None:
            raise Forbidden("This action is not allowed.")
        require_scope(request, rule.scope)
        if rule.role is not None:
            view.get_agent()  # 404 for invisible agents comes first
            require_role(view.agent_role, rule.role)
        return True
