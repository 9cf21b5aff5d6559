"""Reads for agents.  Every agent-scoped lookup starts from
:func:`agents_visible_to`, so a caller can only ever fetch agents they may see."""

from __future__ import annotations

import uuid

from django.apps import apps
from django.db.models import CharField, Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.roles import Role
from agents.inputs.agents import agent_name_is_valid
from agents.models import Agent, AgentMember, AgentTag, AgentVersion, AuditLogEntry, RuntimeState, Schedule
from agents.validation import SLUG_RE
from core.errors import NotFound


def agents_visible_to(user) -> QuerySet[Agent]:
    """Agents ``user`` is a member of (all of them for staff), each annotated
    with ``role``, the user's role on it."""
    agents = Agent.objects.all()
    if user.is_staff:
        return agents.annotate(role=Value(Role.OWNER.value, output_field=CharField()))
    # EXISTS rather than a join: SQLite and PostgreSQL can then walk the sort
    # key's index and stop after one page instead of sorting every match.
    membership = AgentMember.objects.filter(agent=OuterRef("pk"), user=user)
    return agents.filter(Exists(membership)).annotate(role=Subquery(membership.values("role")[:1]))


def with_representation(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """What the agent representation reads, fetched up front (no N+1).  The
    execution count is a correlated subquery, evaluated only for the rows of
    the page."""
    execution = apps.get_model("executions", "Execution")  # a higher layer: counted, never imported
    return agents.select_related("owner").prefetch_related(
        Prefetch("tag_rows", queryset=AgentTag.objects.order_by("position"))
    ).annotate(execution_count=_count_of(execution), version_count=_count_of(AgentVersion),
               schedule_count=_count_of(Schedule))


def _count_of(model):
    """How many ``model`` rows belong to the outer agent, as a correlated subquery."""
    rows = model.objects.filter(agent=OuterRef("pk")).order_by().values("agent").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def agent_list_for_user(*, user) -> QuerySet[Agent]:
    """Agents ``user`` may see, ready for the list representation."""
    return with_representation(agents_visible_to(user))


def agent_ref_filter(ref: str) -> Q:
    """Match by id when ``ref`` is a UUID, else by slug.  A ref that can be
    neither matches nothing, without a query the database might reject."""
    try:
        return Q(pk=uuid.UUID(str(ref)))
    except ValueError:
        return Q(slug=ref) if SLUG_RE.match(ref) else Q(pk__in=[])


def agent_get_for_user(*, user, ref: str, representation: bool = True) -> Agent:
    """The agent with id or slug ``ref`` if ``user`` may see it; 404 otherwise
    (absent and invisible look the same)."""
    agents = agents_visible_to(user)
    if representation:
        agents = with_representation(agents)
    agent = agents.filter(agent_ref_filter(ref)).first()
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


def agent_stats(agent: Agent) -> dict:
    """Counts of what belongs to the agent.  Threads, artifacts and
    knowledge arrive with their own apps; until then an agent has none."""

    def count(annotation: str, related: str) -> int:
        value = getattr(agent, annotation, None)
        return getattr(agent, related).count() if value is None else value

    return {"versions": count("version_count", "versions"), "executions": count("execution_count", "executions"),
            "threads": 0, "messages": 0, "schedules": count("schedule_count", "schedules"),
            "artifacts": 0, "knowledge_documents": 0}


def agent_name_check(*, user, name: str, ignore_id=None) -> dict:
    """Whether ``user`` could give an agent this name (API.md §3 check-name)."""
    if not agent_name_is_valid(name):
        return {"available": False, "reason": "invalid", "conflict_id": None}
    clash = Agent.objects.filter(owner=user, name=name.strip())
    if ignore_id:
        try:
            clash = clash.exclude(pk=uuid.UUID(str(ignore_id)))
        except ValueError:
            pass
    conflict = clash.values_list("pk", flat=True).first()
    if conflict:
        return {"available": False, "reason": "duplicate", "conflict_id": conflict}
    return {"available": True, "reason": None, "conflict_id": None}


def member_list(*, agent: Agent) -> QuerySet[AgentMember]:
    """The agent's members, owner included, with their users."""
    return AgentMember.objects.filter(agent=agent).select_related("user", "added_by")


def audit_log_for_agent(*, agent: Agent) -> QuerySet[AuditLogEntry]:
    """The agent's audit entries, newest first."""
    return AuditLogEntry.objects.filter(agent_ref=agent.pk).select_related("actor")


def version_list(*, agent: Agent) -> QuerySet[AgentVersion]:
    """The agent's versions with their authors (without the snapshots, which lists do not show)."""
    return AgentVersion.objects.filter(agent=agent).select_related("author").defer("config", "pipeline")


def runtime_status(agent: Agent) -> dict:
    """``GET /agents/{agent}/status``: what the agent serves right now.
    Threads arrive with chat; until then none are active."""
    running = agent.runtime_state == RuntimeState.RUNNING
    config = agent.config
    if running and agent.deployed_version is not None:
        config = (AgentVersion.objects.filter(agent=agent, index=agent.deployed_version)
                  .values_list("config", flat=True).first()) or config
    return {"state": agent.runtime_state, "deployed_version": agent.deployed_version,
            "started_at": agent.runtime_started_at, "tools_count": len(config.get("tools", [])),
            "active_threads": 0}


def schedule_list_for_agent(*, agent: Agent) -> QuerySet[Schedule]:
    """The agent's schedules (the representation needs no other rows)."""
    return Schedule.objects.filter(agent=agent)


def schedule_get_for_agent(*, agent: Agent, schedule_id) -> Schedule:
    """One of the agent's schedules; 404 for another agent's, an unknown id or a non-UUID."""
    try:
        pk = uuid.UUID(str(schedule_id))
    except ValueError:
        raise NotFound("Schedule not found.")
    schedule = Schedule.objects.filter(agent=agent, pk=pk).first()
    if schedule is None:
        raise NotFound("Schedule not found.")
    schedule.agent = agent
    return schedule


def deployed_heartbeat(agent: Agent) -> dict | None:
    """The deployed version's heartbeat settings, or ``None`` when there is no deployed version."""
    if agent.deployed_version is None:
        return None
    config = (AgentVersion.objects.filter(agent=agent, index=agent.deployed_version)
              .values_list("config", flat=True).first())
    return (config or {}).get("heartbeat")


def schedule_acting_user(schedule: Schedule):
    """Who a scheduled run acts as: its creator while still a member of the
    agent, else the owner (a removed admin's schedule keeps working, but not
    with their rights)."""
    user = schedule.created_by
    if user is not None and user.is_active and (
            user.is_staff or AgentMember.objects.filter(agent=schedule.agent, user=user).exists()):
        return user
    return schedule.agent.owner
