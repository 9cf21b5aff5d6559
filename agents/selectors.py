"""Reads for agents.  Every agent-scoped lookup starts from
:func:`agents_visible_to`, so a caller can only ever fetch agents they may see."""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)

from accounts.roles import Role
from agents import sql as agent_sql
from agents.config import public_config
from agents.inputs.agents import agent_name_is_valid
from agents.models import (
    TAG_PAIRS,
    Agent,
    AgentMember,
    AgentMemberCount,
    AgentSkill,
    AgentTag,
    AgentVersion,
    AuditLogEntry,
    RuntimeState,
    Schedule,
    Skill,
)
from agents.validation import SLUG_RE
from core import crypto, rows
from core.diffs import diff
from core.errors import NotFound
from core.pagination import PageWindow

DRAFT, DEPLOYED = "draft", "deployed"  # what a version reference may say instead of an index
MODEL_KEYS = ("model", "fallback_models")  # the config keys that say which models an agent thinks with



def agents_visible_to(user) -> QuerySet[Agent]:
    """Agents ``user`` is a member of (all of them for staff), each annotated
    with ``role``, the user's role on it."""
    agents = Agent.objects.all()
    if user.is_staff:
        return agents.annotate(role=Value(Role.OWNER.value, output_field=CharField()))
    return agents.filter(agent_sql.is_member(user)).annotate(role=agent_sql.role_of(user))


def of_visible_agents(user) -> Q:
    """The condition that keeps the rows (of a model with an ``agent``) of the
    agents ``user`` may see: every row for staff, else those of the agents in
    the user's memberships.  Those are read from the
    membership index by user, so it costs what the user's own agents cost:
    ``agent__in=agents_visible_to(user)`` scanned every agent's id with a
    membership check each, 4 to 7 ms at 10,000 agents for any user."""
    if user.is_staff:
        return Q()
    return Q(agent__in=AgentMember.objects.filter(user=user).values("agent"))


def agent_count_for_user(user) -> int:
    """How many agents :func:`agents_visible_to` holds: for staff, every
    agent in the table; for anyone else, their memberships (a member row is
    one agent, once per user), read from ``AgentMemberCount`` in one row.
    Counting the member rows read one index entry per agent."""
    if user.is_staff:
        return rows.count_where(Agent)
    counted = rows.values_where(AgentMemberCount, ("agents",), user=user.pk)
    return 0 if counted is None else counted[0]


def with_representation(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """What the agent representation reads besides the agent's own columns
    (the owner's email, the tags, the stats), in the same statement: a join
    and correlated subqueries evaluated only for the rows of the page.  No
    N+1, and no second query and model instance per owner and tag, which
    were half of the time a page of fifty took to read."""
    return agents.annotate(**{agent_sql.OWNER_EMAIL: F("owner__email"), TAG_PAIRS: agent_sql.tag_pairs()},
                           **agent_sql.stats())


# How a list finds the agents a user sees.  A page walks its sort key's index
# with a membership check per agent and stops once it is full: right for a user
# who sees many of the agents, but one who sees 3 of 10,000 walked them all
# (3.5 ms for the page, 6.6 ms to count a filtered list).  Read from the user's
# memberships instead, each agent looked up and the few sorted: at 10,000 agents
# on SQLite, for a user who sees 30, 100, 200, 1,000 or 3,000 of them, a page took
# 1.1, 1.8, 2.4, 4.4 and 8.2 ms (walking: 4.5, 3.3, 2.4, 1.8, 1.8), a filtered
# count 0.15, 0.18, 0.25, 1.6 and 3.8 ms (the scan: 6.4 to 7.6).  So a page is
# read from the memberships up to 100 of them and a filtered count up to 2,000;
# where the table holds few more agents than the user sees, that loses at most
# about a millisecond.  The user's membership count is one row
# (``agent_count_for_user``), which the plain list reads anyway as its total.
# Staff have no condition.
PAGE_FROM_MEMBERSHIPS = 100
COUNT_FROM_MEMBERSHIPS = 2_000


def agents_listed_for(*, user, memberships: int | None = None) -> QuerySet[Agent]:
    """:func:`agents_visible_to`, for a list: given ``memberships``
    (``agent_count_for_user(user)``), a user who sees at most
    ``PAGE_FROM_MEMBERSHIPS`` agents has them read from their memberships
    rather than by walking every agent."""
    agents = agents_visible_to(user)
    if _from_memberships(user, memberships, PAGE_FROM_MEMBERSHIPS):
        agents = agents.filter(agent_sql.among_memberships(user))
    return agents


def agent_list_for_user(*, user, memberships: int | None = None) -> QuerySet[Agent]:
    """Agents ``user`` may see (:func:`agents_listed_for`), ready for the list representation."""
    return with_representation(agents_listed_for(user=user, memberships=memberships))


def agent_page_of(*, user, agents: QuerySet[Agent], window: PageWindow) -> list[agent_sql.RepresentedAgent]:
    """The agents of ``window`` among ``agents`` (:func:`agents_listed_for`,
    filtered), each with its representation as JSON, as
    :func:`agent_page_for_user` gives the unfiltered list's: the window's
    keys chosen by the ORM's query, the agents represented by the database,
    in one statement (``agent_sql.agents_represented``)."""
    return agent_sql.agents_represented(user, window.keys(agents), window)


def agent_list_count(*, user, agents: QuerySet[Agent], memberships: int) -> int:
    """How many agents ``agents`` (:func:`agents_listed_for` or
    :func:`agent_list_for_user`, filtered) holds: counted from the user's memberships when they are at
    most ``COUNT_FROM_MEMBERSHIPS``, else by a scan of the agents."""
    if _from_memberships(user, memberships, COUNT_FROM_MEMBERSHIPS):
        agents = agents.filter(agent_sql.among_memberships(user))
    return agents.count()


def agent_page_for_user(*, user, window: PageWindow, memberships: int | None = None
                        ) -> list[agent_sql.RepresentedAgent]:
    """The agents of the unfiltered list's ``window`` for ``user``, each
    with its representation as JSON: ``window.of(agent_list_for_user(user=user))``
    as ``AgentSerializer`` represents it, read and written by the database in
    one statement written once per process (``agent_sql.agent_page``); read
    from the user's memberships when ``memberships`` says they are few."""
    return agent_sql.agent_page(user, window,
                                from_memberships=_from_memberships(user, memberships, PAGE_FROM_MEMBERSHIPS))


def _from_memberships(user, memberships: int | None, at_most: int) -> bool:
    return memberships is not None and not user.is_staff and memberships <= at_most


def agent_tag_names_for_user(*, user, memberships: int | None = None) -> list[str]:
    """Every tag on the agents ``user`` may see, once each, sorted (the list's
    tag filter offers them): the tags walked in the order of their name's
    index, a membership check each, so the names come out sorted and
    distinct without a sort (0.8 ms at 10,000 agents, against 4.2 through
    the list of visible agents).  Given ``memberships``, a user who sees
    few agents has the tags of their agents read and sorted instead (as a
    filtered count is, ``COUNT_FROM_MEMBERSHIPS``)."""
    tags = AgentTag.objects.all()
    if _from_memberships(user, memberships, COUNT_FROM_MEMBERSHIPS):
        tags = tags.filter(of_visible_agents(user))
    elif not user.is_staff:
        tags = tags.filter(Exists(AgentMember.objects.filter(agent=OuterRef("agent"), user=user)))
    return list(tags.order_by("name").values_list("name", flat=True).distinct())


def agent_ref(ref: str) -> tuple[str, str | uuid.UUID] | None:
    """How ``ref`` names an agent: ``("id", UUID)`` when it is a UUID, else
    ``("slug", ref)``; ``None`` when it can be neither (it names nothing, and
    no query the database might reject is made)."""
    try:
        return "id", uuid.UUID(str(ref))
    except ValueError:
        return ("slug", ref) if SLUG_RE.match(ref) else None


def agent_ref_filter(ref: str) -> Q:
    """Match by id when ``ref`` is a UUID, else by slug (:func:`agent_ref`)."""
    named = agent_ref(ref)
    return Q(**{"pk" if named[0] == "id" else "slug": named[1]}) if named is not None else Q(pk__in=[])


def agent_get_for_user(*, user, ref: str, representation: bool = True) -> Agent:
    """The agent with id or slug ``ref`` if ``user`` may see it, with
    ``role`` (and, with ``representation``, what :func:`with_representation`
    adds); 404 otherwise (absent and invisible look the same).

    One statement written once per process (``agent_sql.one_agent``): every
    agent-scoped request makes this read, and through the ORM building and
    compiling it cost several times what the database takes to answer."""
    return _found(ref, lambda by, value: agent_sql.one_agent(user, by=by, value=value, representation=representation))


def agent_get_represented_for_user(*, user, ref: str) -> Agent:
    """What the agent detail answers with, for the agent with id or slug
    ``ref`` if ``user`` may see it (404 otherwise): an instance holding only
    its id, revision and ``role``, and its representation as the database
    writes it (``agent_sql.one_agent_represented``: ``represented_json``)."""
    return _found(ref, lambda by, value: agent_sql.one_agent_represented(user, by=by, value=value))


def _found(ref: str, read) -> Agent:
    """``read(by, value)`` of the agent ``ref`` names, or 404 when it names none or ``read`` finds nothing."""
    named = agent_ref(ref)
    agent = None
    if named is not None:
        by, value = named
        if by == "id":
            value = Agent._meta.pk.get_db_prep_value(value, connection)
        agent = read(by, value)
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


def agent_role(agent: Agent, user) -> str | None:
    """``user``'s role on ``agent`` (``owner`` for staff), or None for a stranger."""
    return agents_visible_to(user).filter(pk=agent.pk).values_list("role", flat=True).first()


def agent_owner_email(agent: Agent) -> str:
    """The owner's email (annotated by ``with_representation``, else read now)."""
    email = getattr(agent, agent_sql.OWNER_EMAIL, None)
    return agent.owner.email if email is None else email


def agent_stats(agent: Agent) -> dict:
    """Counts of what belongs to the agent (annotated by ``with_representation``,
    else counted here)."""

    def count(key: str) -> int:
        if key == "messages":
            return agent.threads.aggregate(n=Sum("message_count"))["n"] or 0
        return getattr(agent, key).count()  # each other key is the name of the related manager

    stats = {}
    for key, annotation in agent_sql.STATS_KEYS.items():
        value = getattr(agent, annotation, None)
        stats[key] = count(key) if value is None else value
    return stats


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
    config = (deployed_config(agent) if running else None) or agent.config
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


def deployed_config(agent: Agent) -> dict | None:
    """The stored config of the version the agent serves, or ``None`` when it has no deployed version."""
    if agent.deployed_version is None:
        return None
    found = version_content(agent.pk, agent.deployed_version, ("config",))
    return None if found is None else found[0]


def version_content(agent_id, index: int, names: tuple[str, ...] = ("config", "pipeline")) -> list | None:
    """The ``names`` fields of the agent's version ``index``, or ``None``.
    Every run of a deployed version and every chat turn reads its version, so
    this is one statement written once per process (``core.rows``)."""
    return rows.values_where(AgentVersion, names, agent=agent_id, index=index)


def deployed_heartbeat(agent: Agent) -> dict | None:
    """The deployed version's heartbeat settings, or ``None`` when there is no deployed version."""
    return (deployed_config(agent) or {}).get("heartbeat")


def schedule_acting_user(schedule: Schedule):
    """Who a scheduled run acts as: its creator while still a member of the
    agent, else the owner (a removed admin's schedule keeps working, but not
    with their rights)."""
    user = schedule.created_by
    if user is not None and user.is_active and (
            user.is_staff or AgentMember.objects.filter(agent=schedule.agent, user=user).exists()):
        return user
    return schedule.agent.owner


# --- versions -----------------------------------------------------------------------------------

def version_get(agent: Agent, index) -> AgentVersion:
    """Version ``index`` of the agent; 404 when it has none with that index."""
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise NotFound(f"This agent has no version {index}.")
    version = AgentVersion.objects.filter(agent=agent, index=index).select_related("author").first()
    if version is None:
        raise NotFound(f"This agent has no version {index}.")
    return version


def latest_version(agent: Agent) -> AgentVersion | None:
    return AgentVersion.objects.filter(agent=agent).order_by("-index").first()


def _definition(agent: Agent, ref) -> tuple[str, dict]:
    """``(label, {"config", "pipeline"})`` for a version index or ``draft``, secrets masked."""
    if str(ref) == DRAFT:
        config, pipeline, label = agent.config, agent.pipeline, DRAFT
    else:
        version = version_get(agent, ref)
        config, pipeline, label = version.config, version.pipeline, f"v{version.index}"
    return label, {"config": public_config(config), "pipeline": pipeline or {"nodes": [], "edges": []}}


def version_diff(agent: Agent, a, b) -> dict:
    """What changed from ``a`` to ``b`` (version indexes or ``draft``):
    ``changes`` maps dotted paths to ``{old, new}``; ``unified`` is a
    unified diff of the two definitions as indented JSON."""
    label_a, doc_a = _definition(agent, a)
    label_b, doc_b = _definition(agent, b)
    text_a = json.dumps(doc_a, indent=2, sort_keys=True, ensure_ascii=False).splitlines(keepends=True)
    text_b = json.dumps(doc_b, indent=2, sort_keys=True, ensure_ascii=False).splitlines(keepends=True)
    unified = "".join(difflib.unified_diff(text_a, text_b, fromfile=label_a, tofile=label_b))
    return {"a": label_a, "b": label_b, "changes": diff(doc_a, doc_b), "unified": unified}


# --- the brain and the webhook --------------------------------------------------------------------

def redeploy_required(agent: Agent) -> bool:
    """Whether the agent runs a deployed version whose models differ from the working config's."""
    if agent.runtime_state != RuntimeState.RUNNING or agent.deployed_version is None:
        return False
    deployed = deployed_config(agent) or {}
    return any(deployed.get(key) != agent.config.get(key) for key in MODEL_KEYS)


def agent_settings(agent: Agent) -> dict:
    """The settings shorthand read from the working config."""
    model = agent.config.get("model") or {}
    return {"llm_provider": model.get("provider"), "llm_model": model.get("model"),
            "llm_temperature": (model.get("params") or {}).get("temperature"),
            "redeploy_required": redeploy_required(agent)}


# Never equal to a real secret's hash: the comparison for an unknown agent
# costs what a real one does, so timing tells nothing either.
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class Webhook:
    """An agent's webhook as its admins see it; ``secret`` is ``None`` when
    disabled (or when the encryption key changed and it cannot be read)."""

    enabled: bool
    secret: str | None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def webhook_get(agent: Agent) -> Webhook:
    """The agent's webhook with its secret decrypted."""
    if not agent.webhook_secret_hash:
        return Webhook(enabled=False, secret=None)
    try:
        secret = crypto.decrypt(agent.webhook_secret_ciphertext)
    except ValueError:
        secret = None
    return Webhook(enabled=True, secret=secret)


def webhook_agent(*, ref: str, secret: str) -> Agent:
    """The agent whose webhook ``secret`` is, by id or slug; 404 for an
    unknown agent, a disabled webhook and a wrong secret alike."""
    agent = Agent.objects.select_related("owner").filter(agent_ref_filter(ref)).first()
    stored = (agent.webhook_secret_hash if agent is not None else "") or _NO_HASH
    matches = hmac.compare_digest(stored, secret_hash(secret or ""))
    if agent is None or not agent.webhook_secret_hash or not matches:
        raise NotFound("Not found.")
    return agent


def exportable_agents(user) -> QuerySet[Agent]:
    """The agents ``user`` may export: those they own or administer (all of them for staff)."""
    return agents_visible_to(user).filter(role__in=[Role.OWNER, Role.ADMIN]).order_by("slug")


# --- skills -------------------------------------------------------------------------------------

def skills_visible_to(user) -> QuerySet[Skill]:
    """The skills ``user`` may see and edit: their own (every skill for staff)."""
    skills = Skill.objects.all()
    return skills if user.is_staff else skills.filter(owner=user)


def skill_get_for_user(*, user, skill_id) -> Skill:
    """One skill ``user`` may see; 404 for another user's, an unknown id or a non-UUID."""
    try:
        pk = uuid.UUID(str(skill_id))
    except ValueError:
        raise NotFound("Skill not found.") from None
    skill = skills_visible_to(user).filter(pk=pk).first()
    if skill is None:
        raise NotFound("Skill not found.")
    return skill


def agent_skills(agent: Agent) -> QuerySet[AgentSkill]:
    """The skills connected to the agent, in the order they were connected."""
    return (AgentSkill.objects.filter(agent=agent).select_related("skill", "connected_by")
            .order_by("connected_at", "id"))


def agent_skill_texts(agent: Agent, *, limit: int = 50) -> list[tuple[str, str]]:
    """The name and content of the agent's first ``limit`` skills, in ``agent_skills`` order."""
    return agent_sql.skill_texts(agent.pk, limit)


def agent_skill_get(agent: Agent, skill_id) -> AgentSkill:
    """The agent's association with skill ``skill_id``; 404 when it has none."""
    try:
        pk = uuid.UUID(str(skill_id))
    except ValueError:
        raise NotFound("This agent has no such skill.") from None
    link = agent_skills(agent).filter(skill_id=pk).first()
    if link is None:
        raise NotFound("This agent has no such skill.")
    link.agent = agent
    return link
