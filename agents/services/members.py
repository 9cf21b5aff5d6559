"""Members and roles: adding, changing and removing them, and handing over
ownership (API.md §2: admins manage operators and viewers; only the owner
manages admins and ownership)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.actor import Actor
from accounts.permissions import require_role
from accounts.roles import MEMBER_ROLES, Role, role_needed_to_manage
from agents.errors import NameTaken
from agents.models import Agent, AgentMember, AuditAction
from agents.services.audit import audit_record
from core.errors import Conflict, NotFound, ValidationFailed


def _member_role(value) -> Role:
    if value not in [r.value for r in MEMBER_ROLES]:
        raise ValidationFailed(
            "role must be admin, operator or viewer.",
            errors={"role": [f"Must be one of {', '.join(r.value for r in MEMBER_ROLES)}; "
                             "use transfer to change the owner."]},
        )
    return Role(value)


def _touch(agent: Agent) -> None:
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(updated_at=now, last_activity=now)


@transaction.atomic
def member_add(*, agent: Agent, actor: Actor, actor_role: Role, user, role: str) -> AgentMember:
    """Give ``user`` a role on the agent; who may grant which role follows API.md §2."""
    role = _member_role(role)
    require_role(actor_role, role_needed_to_manage(role))
    if AgentMember.objects.filter(agent=agent, user=user).exists():
        raise Conflict("That user is already a member of this agent; change their role instead.")
    member = AgentMember.objects.create(agent=agent, user=user, role=role, added_by=actor.user)
    _touch(agent)
    audit_record(agent=agent, actor=actor, action=AuditAction.MEMBER_ADDED,
                 changes={f"members.{user.email}": {"old": None, "new": role.value}})
    return member


def _member_of(agent: Agent, user_id) -> AgentMember:
    member = AgentMember.objects.select_related("user").filter(agent=agent, user_id=user_id).first()
    if member is None:
        raise NotFound("No such member.")
    if member.role == Role.OWNER:
        raise Conflict("The owner's role cannot be changed or removed; transfer ownership instead.")
    return member


@transaction.atomic
def member_change_role(*, agent: Agent, actor: Actor, actor_role: Role, user_id, role: str) -> AgentMember:
    """Change a member's role; the actor must be allowed to manage both the old and the new role."""
    role = _member_role(role)
    member = _member_of(agent, user_id)
    require_role(actor_role, role_needed_to_manage(member.role))
    require_role(actor_role, role_needed_to_manage(role))
    if member.role == role:
        return member
    old = member.role
    member.role = role
    member.save(update_fields=["role"])
    _touch(agent)
    audit_record(agent=agent, actor=actor, action=AuditAction.MEMBER_ROLE_CHANGED,
                 changes={f"members.{member.user.email}": {"old": old, "new": role.value}})
    return member


@transaction.atomic
def member_remove(*, agent: Agent, actor: Actor, actor_role: Role, user_id) -> None:
    """Remove a member; anyone may remove themselves."""
    member = _member_of(agent, user_id)
    if member.user_id != getattr(actor.user, "pk", None):
        require_role(actor_role, role_needed_to_manage(member.role))
    member.delete()
    _touch(agent)
    audit_record(agent=agent, actor=actor, action=AuditAction.MEMBER_REMOVED,
                 changes={f"members.{member.user.email}": {"old": member.role, "new": None}})


@transaction.atomic
def ownership_transfer(*, agent: Agent, actor: Actor, actor_role: Role, new_owner) -> Agent:
    """Make ``new_owner`` the owner; the previous owner stays on as admin."""
    require_role(actor_role, Role.OWNER)
    agent = Agent.objects.select_for_update().select_related("owner").get(pk=agent.pk)
    previous = agent.owner
    if new_owner.pk == previous.pk:
        raise Conflict("That user already owns this agent.")
    if Agent.objects.filter(owner=new_owner, name=agent.name).exists():
        raise NameTaken(f"The new owner already has an agent named {agent.name!r}.",
                        errors={"name": ["Already in use by the new owner."]})
    AgentMember.objects.filter(agent=agent, user=new_owner).delete()
    AgentMember.objects.filter(agent=agent, user=previous).update(role=Role.ADMIN)
    AgentMember.objects.create(agent=agent, user=new_owner, role=Role.OWNER, added_by=actor.user)
    agent.owner = new_owner
    agent.revision += 1
    agent.updated_at = agent.last_activity = timezone.now()
    agent.save(update_fields=["owner", "revision", "updated_at", "last_activity"])
    audit_record(agent=agent, actor=actor, action=AuditAction.OWNERSHIP_TRANSFERRED,
                 changes={"owner": {"old": previous.email, "new": new_owner.email}})
    return agent
