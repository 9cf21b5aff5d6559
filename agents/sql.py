"""Correlated subqueries on an agent, and the read of one agent, written
once per process as SQL.

Built with the ORM (``Exists``, ``Subquery``), each costs more to construct
and compile on every request than the database takes to run it: a profile of
the agents list put the visibility filter's and the role's construction and
compilation at a fifth of the request.  Here they are :class:`AgentSQL`
expressions: the SQL text is made once, and only the outer agent's id column
(compiled from ``F("pk")``, so an aliased agent table, as in a subquery,
works too) and the values are filled in per query.

Reading one agent by id or slug (every agent-scoped request does, to check
the caller's role) took 0.8 ms through the ORM, 2 ms with its representation,
against 0.1 ms for the database: :func:`one_agent` is that read as one
statement built from the same pieces, its row made an agent by
``core.rows.ModelColumns`` (``Manager.raw`` took three times the database's
time to do the same).  A page of the plain agents list is read from the same
pieces for a ``core.pagination.PageWindow``, each agent's representation
written as JSON by the database (:func:`agent_page`,
``agents.representation_sql``), and the skills a chat turn shows its model
are read in one statement too (:func:`skill_texts`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import orjson
from django.apps import apps
from django.db import connection
from django.db.models import BooleanField, CharField, F, Func, IntegerField, Value

from accounts.roles import Role
from agents import representation_sql
from agents.models import TAG_PAIRS, Agent
from core.fields import JSONField
from core.pagination import PageWindow
from core.rows import ModelColumns, column, fetch_all, fetch_one, pk_value

AGENT = "{agent}"  # where an AgentSQL's text refers to the outer agent's id


class AgentSQL(Func):
    """``sql`` about the outer agent: :data:`AGENT` stands for its id column,
    and each ``%s`` for one of ``values``, in order."""

    def __init__(self, sql: str, *values, output_field):
        super().__init__(F("pk"), *(Value(value) for value in values), output_field=output_field)
        self.sql = sql

    def as_sql(self, compiler, connection, **extra_context):
        agent, *values = self.get_source_expressions()
        agent_sql, params = compiler.compile(agent)
        params = list(params)
        for value in values:
            params.extend(compiler.compile(value)[1])
        return self.sql.replace(AGENT, agent_sql), params


def is_member(user) -> AgentSQL:
    """Whether ``user`` has a role on the agent (``EXISTS``, so the database
    can walk a sort key's index and stop after one page)."""
    return AgentSQL(_membership_sql()["exists"], user.pk, output_field=BooleanField())


def among_memberships(user) -> AgentSQL:
    """Whether the agent is among ``user``'s memberships (``IN``, so the
    database reads the user's memberships and looks each agent up: what a
    user who sees few agents among many wants; ``agents.selectors``)."""
    return AgentSQL(_membership_sql()["among"], user.pk, output_field=BooleanField())


def role_of(user) -> AgentSQL:
    """``user``'s role on the agent, or NULL."""
    return AgentSQL(_membership_sql()["role"], user.pk, output_field=CharField())


def tag_pairs() -> AgentSQL:
    """The agent's tags as a JSON array of ``[position, name]`` pairs (read
    by ``Agent.tag_names``): one subquery, not a prefetch's second query and
    a model instance per tag.  Pairs, because neither database promises the
    order in which it aggregates rows."""
    return AgentSQL(_tags_sql(), output_field=JSONField())


def stats() -> dict[str, AgentSQL]:
    """The counts of the agent representation's ``stats``, by annotation name.
    What higher layers own (executions, threads, artifacts, knowledge
    documents) is counted by model name, never imported."""
    return {name: AgentSQL(sql, output_field=IntegerField()) for name, sql in _stats_sql().items()}


@functools.cache
def _membership_sql() -> dict[str, str]:
    member = apps.get_model("agents", "AgentMember")
    quote = connection.ops.quote_name
    table = quote(member._meta.db_table)
    where = (f"{table}.{quote(member._meta.get_field('agent').column)} = {AGENT} "
             f"AND {table}.{quote(member._meta.get_field('user').column)} = %s")
    agents_of_user = (f"SELECT {table}.{quote(member._meta.get_field('agent').column)} FROM {table} "
                      f"WHERE {table}.{quote(member._meta.get_field('user').column)} = %s")
    return {"exists": f"EXISTS (SELECT 1 FROM {table} WHERE {where})",
            "among": f"{AGENT} IN ({agents_of_user})",
            "role": f"(SELECT {table}.{quote(member._meta.get_field('role').column)} FROM {table} WHERE {where})"}


@functools.cache
def _stats_sql() -> dict[str, str]:
    quote = connection.ops.quote_name

    def rows_of(model) -> str:
        return f"FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.get_field('agent').column)} = {AGENT}"

    model = apps.get_model
    counted = {"execution_count": model("executions", "Execution"), "version_count": model("agents", "AgentVersion"),
               "schedule_count": model("agents", "Schedule"), "thread_count": model("conversations", "Thread"),
               "artifact_count": model("executions", "Artifact"),
               "knowledge_document_count": model("knowledge", "Document")}
    sql = {name: f"(SELECT COUNT(*) {rows_of(counted_model)})" for name, counted_model in counted.items()}
    thread = counted["thread_count"]
    messages = quote(thread._meta.get_field("message_count").column)
    sql["message_count"] = f"(SELECT COALESCE(SUM({messages}), 0) {rows_of(thread)})"
    return sql


@functools.cache
def _tags_sql() -> str:
    tag = apps.get_model("agents", "AgentTag")
    quote = connection.ops.quote_name
    table = quote(tag._meta.db_table)
    position, name, agent = (f"{table}.{quote(tag._meta.get_field(field).column)}"
                             for field in ("position", "name", "agent"))
    rows = f"FROM {table} WHERE {agent} = {AGENT}"
    if connection.vendor == "postgresql":
        return f"(SELECT COALESCE(json_agg(json_build_array({position}, {name})), '[]')::text {rows})"
    return f"(SELECT json_group_array(json_array({position}, {name})) {rows})"


# --- one agent, a page of agents ------------------------------------------------------------------

# What the representation reads besides the agent's own columns, by attribute
# name: the subqueries above, and the owner's email from a join.
OWNER_EMAIL = "owner_email"


@dataclass(frozen=True)
class _AgentRead:
    sql: str
    columns: ModelColumns  # the agent's own, first in the row
    extras: tuple[str, ...]  # then these attributes, in order

    def agent(self, row):
        agent = self.columns.instance(row[:len(self.columns)])
        for name, extra in zip(self.extras, row[len(self.columns):], strict=True):
            setattr(agent, name, extra)
        if TAG_PAIRS in self.extras:
            setattr(agent, TAG_PAIRS, orjson.loads(getattr(agent, TAG_PAIRS)))  # the subquery's JSON text
        return agent


def one_agent(user, *, by: str, value, representation: bool):
    """The agent whose ``by`` (``"id"``, db-ready, or ``"slug"``) is
    ``value`` if ``user`` may see it, else ``None``; with ``role`` (and, with
    ``representation``, the owner's email, the tags and the stats): what
    ``agents_visible_to(user)`` and ``with_representation`` select, for one
    row, in one statement."""
    read = _one_agent_read(staff=bool(user.is_staff), by=by, representation=representation)
    row = fetch_one(read.sql, [value] if user.is_staff else [_user_id(user), value, _user_id(user)])
    return None if row is None else read.agent(row)


def one_agent_represented(user, *, by: str, value):
    """The agent whose ``by`` is ``value`` if ``user`` may see it, else
    ``None``, as the detail answers it: only its id and revision (its ETag)
    read into the instance, with ``role``, and its representation written by
    the database as JSON text (``agents.representation_sql``) as
    ``represented_json``, in one statement.  Every other field is deferred:
    the instance is for the role check, the ETag and the answer only.  Made
    into a whole instance and represented by ``AgentSerializer``, the agent
    cost the detail 7 to 12% more of the server's CPU (docs/PERFORMANCE.md)."""
    read = _one_agent_represented_read(staff=bool(user.is_staff), by=by)
    user_id = None if user.is_staff else _user_id(user)
    row = fetch_one(read.sql, [value] if user.is_staff else [user_id, user_id, value, user_id])
    if row is None:
        return None
    agent = read.columns.instance(row[:2])
    agent.role, agent.represented_json = row[2:]
    return agent


@dataclass(frozen=True)
class _RepresentedRead:
    sql: str
    columns: ModelColumns  # the id and the revision, first in the row; then the role and the JSON


@functools.cache
def _one_agent_represented_read(*, staff: bool, by: str) -> _RepresentedRead:
    source, conditions, extras = _agents_from(staff=staff, representation=True)
    item = _representation_item(extras)
    columns = ModelColumns(Agent, Agent._meta.db_table, ("id", "revision"))
    where = " AND ".join([f"{column(Agent._meta.db_table, Agent, by)} = %s", *conditions])
    return _RepresentedRead(sql=f"SELECT {columns.select()}, {extras['role']}, {item} {source} WHERE {where}",
                            columns=columns)


@dataclass(frozen=True)
class RepresentedAgent:
    """An agent of a page as the database wrote it: its representation's
    JSON text, and where it sits in the page's order."""

    json: str
    stored_position: tuple  # its id and sort key as the database gave them
    columns: ModelColumns  # of those two

    def position(self) -> tuple:
        """Its sort key and id, as the ORM reads them (what a cursor names);
        made only for the rows a cursor is written from."""
        pk, key = self.columns.values(self.stored_position)
        return key, pk


def agent_page(user, window: PageWindow, *, from_memberships: bool = False) -> list[RepresentedAgent]:
    """The agents of ``window`` (a ``core.pagination`` page) among those
    ``user`` may see, each with its representation as JSON
    (``agents.representation_sql``): what ``window.of`` reads of
    ``with_representation(agents_visible_to(user))``, represented, in one
    statement written once per (staff, sort key, direction, cursor
    comparison, way in).  Through the ORM and ``AgentSerializer`` a page of
    50 took about 3 ms more than this.

    The database walks the sort key's index, checking each agent's
    membership, until it has the page; ``from_memberships`` reads the user's
    memberships instead and sorts their agents, which is what a user who
    sees few agents among many wants (``agents.selectors``)."""
    op = None if window.position is None else window.position[0]
    read = _agent_page_read(staff=bool(user.is_staff), field=window.field, descending=window.descending, op=op,
                            among=from_memberships and not user.is_staff)
    params = [] if user.is_staff else [_user_id(user), _user_id(user)]  # the role's, then the visibility's
    if window.position is not None:
        _, value, pk = window.position
        field = Agent._meta.get_field(window.field)
        params += [field.get_db_prep_value(value, connection)] * 2 + [pk_value(Agent, pk)]
    return read.agents(fetch_all(read.sql, params + [window.size, window.offset]))


def agents_represented(user, keys, window: PageWindow) -> list[RepresentedAgent]:
    """The agents whose ids ``keys`` selects (``window.keys`` of agents
    ``user`` may see, filtered as a list's query asks), each with its
    representation as JSON, in ``window``'s order: the keys' statement as
    the ORM compiles it, inside the representation's, one statement.  A
    filtered page of 50 took 9 ms through ``AgentSerializer``."""
    keys_sql, keys_params = keys.query.sql_with_params()
    read = _agents_represented_read(staff=bool(user.is_staff), field=window.field, descending=window.descending)
    params = ([] if user.is_staff else [_user_id(user)]) + list(keys_params)  # the role's, then the keys'
    return read.agents(fetch_all(read.sql.replace(KEYS, keys_sql), params))


KEYS = "{keys}"  # where _agents_represented_read's statement takes the keys' SQL


@functools.cache
def _agents_represented_read(*, staff: bool, field: str, descending: bool) -> _PageRead:
    # The keys' statement keeps the agents the user may see; this one only represents them.
    source, _visible, extras = _agents_from(staff=staff, representation=True)
    position, key, agent_id, order_by = _page_order(field, descending)
    sql = (f"SELECT {position.select()}, {_representation_item(extras)} {source} WHERE {agent_id} IN ({KEYS}) "
           f"{order_by}")
    return _PageRead(sql=sql, position=position)


def _user_id(user):
    return user._meta.pk.get_db_prep_value(user.pk, connection)


def _agents_from(*, staff: bool, representation: bool, among: bool = False) -> tuple[str, list[str], dict[str, str]]:
    """``FROM`` the agents' table (joined to the owner's with
    ``representation``), the conditions that keep the agents the user may see
    (none for staff; with ``among``, the agent's id among the user's
    memberships rather than a membership check per agent), and the SQL of
    ``role`` (and of what the representation reads besides the agent's own
    columns) by attribute name."""
    quote = connection.ops.quote_name
    table = quote(Agent._meta.db_table)
    agent_id = f"{table}.{quote(Agent._meta.pk.column)}"
    membership = {key: text.replace(AGENT, agent_id) for key, text in _membership_sql().items()}
    extras = {"role": f"'{Role.OWNER.value}'" if staff else membership["role"]}
    joins = ""
    if representation:
        owner_field = Agent._meta.get_field("owner")
        user_table = quote(owner_field.related_model._meta.db_table)
        joins = (f" INNER JOIN {user_table} ON {user_table}.{quote(owner_field.target_field.column)} = "
                 f"{table}.{quote(owner_field.column)}")
        extras[OWNER_EMAIL] = f"{user_table}.{quote(owner_field.related_model._meta.get_field('email').column)}"
        extras[TAG_PAIRS] = _tags_sql().replace(AGENT, agent_id)
        extras.update((name, text.replace(AGENT, agent_id)) for name, text in _stats_sql().items())
    return f"FROM {table}{joins}", [] if staff else [membership["among" if among else "exists"]], extras


def _agents_select(*, staff: bool, representation: bool) -> tuple[str, list[str], ModelColumns, tuple[str, ...]]:
    """``SELECT`` an agent's columns, ``role`` (and what the representation
    reads) :func:`_agents_from` its table, and the conditions that keep the
    agents the user may see."""
    quote = connection.ops.quote_name
    source, visible, extras = _agents_from(staff=staff, representation=representation)
    agent_columns = ModelColumns(Agent, Agent._meta.db_table)
    columns = [agent_columns.select()] + [f"{text} AS {quote(name)}" for name, text in extras.items()]
    return f"SELECT {', '.join(columns)} {source}", visible, agent_columns, tuple(extras)


@functools.cache
def _one_agent_read(*, staff: bool, by: str, representation: bool) -> _AgentRead:
    select, visible, columns, extras = _agents_select(staff=staff, representation=representation)
    where = " AND ".join([f"{column(Agent._meta.db_table, Agent, by)} = %s", *visible])
    return _AgentRead(sql=f"{select} WHERE {where}", columns=columns, extras=extras)


# AgentSerializer's stats keys, by the annotation that counts each (_stats_sql).
STATS_KEYS = {"versions": "version_count", "executions": "execution_count", "threads": "thread_count",
              "messages": "message_count", "schedules": "schedule_count", "artifacts": "artifact_count",
              "knowledge_documents": "knowledge_document_count"}


@dataclass(frozen=True)
class _PageRead:
    sql: str
    position: ModelColumns  # the id and the sort key, first in the row; then the JSON

    def agents(self, rows) -> list[RepresentedAgent]:
        return [RepresentedAgent(row[2], row[:2], self.position) for row in rows]


def _representation_item(extras: dict[str, str]) -> str:
    """The SQL of an agent's representation as JSON text, from what
    :func:`_agents_from` selects besides its columns."""
    return representation_sql.representation(agent=Agent._meta.db_table, owner_email=extras[OWNER_EMAIL],
                                              role=extras["role"],
                                              stats={key: extras[name] for key, name in STATS_KEYS.items()})


@functools.cache
def _agent_page_read(*, staff: bool, field: str, descending: bool, op: str | None, among: bool = False) -> _PageRead:
    source, conditions, extras = _agents_from(staff=staff, representation=True, among=among)
    position, key, agent_id, order_by = _page_order(field, descending)
    if op is not None:
        compare = {"lt": "<", "gt": ">"}[op]
        conditions = [*conditions, f"({key} {compare} %s OR ({key} = %s AND {agent_id} {compare} %s))"]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = f"SELECT {position.select()}, {_representation_item(extras)} {source}{where} {order_by} LIMIT %s OFFSET %s"
    return _PageRead(sql=sql, position=position)


def _page_order(field: str, descending: bool) -> tuple[ModelColumns, str, str, str]:
    """A page's position columns (the id and ``field``), the key's and the
    id's SQL, and its ``ORDER BY`` (the key, then the id that breaks ties)."""
    position = ModelColumns(Agent, Agent._meta.db_table, ("id", field))
    key, agent_id = column(Agent._meta.db_table, Agent, field), column(Agent._meta.db_table, Agent, "id")
    direction = " DESC" if descending else " ASC"
    return position, key, agent_id, f"ORDER BY {key}{direction}, {agent_id}{direction}"


def skill_texts(agent_id, limit: int) -> list[tuple[str, str]]:
    """The name and content of the first ``limit`` skills connected to the
    agent, in the order they were connected: what every chat turn adds to its
    system prompt, in one statement (the ORM's ``select_related`` took a
    millisecond to build for a tenth of that in the database)."""
    sql, agent_field = _skill_texts_sql()
    return fetch_all(sql, [agent_field.get_db_prep_value(agent_id, connection), limit])


@functools.cache
def _skill_texts_sql():
    link_model, skill_model = apps.get_model("agents", "AgentSkill"), apps.get_model("agents", "Skill")
    quote = connection.ops.quote_name
    link, skill = link_model._meta.db_table, skill_model._meta.db_table

    def linked(name: str) -> str:
        return column(link, link_model, name)

    sql = (f"SELECT {column(skill, skill_model, 'name')}, {column(skill, skill_model, 'content')}"
           f" FROM {quote(link)} INNER JOIN {quote(skill)} ON {column(skill, skill_model, 'id')} = {linked('skill')}"
           f" WHERE {linked('agent')} = %s ORDER BY {linked('connected_at')}, {linked('id')} LIMIT %s")
    return sql, link_model._meta.get_field("agent")
