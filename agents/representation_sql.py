"""The agent representation of API.md §3, written by the database as JSON.

A page of fifty agents cost about 3 ms of Python: making each row an
instance (a UUID from text, four aware datetimes, the JSON of config and
pipeline parsed), building its representation and writing all of it as JSON
again.  SQLite writes the same page with ``json_object`` in 0.6 ms
(PostgreSQL with ``json_build_object``), so the plain agents list selects
each agent's representation as JSON text (``agents.sql.agent_page``) and the
response embeds those texts as they are (``core.renderers.JSONText``).

``AgentSerializer.to_representation`` (``agents.api.base``) stays the
definition: one agent, the list's filtered pages and every write answer
with it.  :func:`representation` is the same thing as one SQL expression,
and ``tests/agents/test_representation_sql.py`` holds the two to the same
output, field by field, on both databases: masked secrets, a runtime's
start, tags in their order, an empty pipeline, every count.
"""

from __future__ import annotations

from django.core import checks
from django.db import connection
from rest_framework.settings import api_settings

from agents.models import Agent, AgentTag

# The format a DRF DateTimeField writes under our settings; the SQL below writes exactly this.
API_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def representation(*, agent: str, owner_email: str, role: str, stats: dict[str, str]) -> str:
    """The SQL of the JSON text of the agent whose table (or alias) is
    ``agent``, given the SQL of its owner's email, the caller's role and each
    count of ``stats`` (by ``AgentSerializer``'s stats key)."""
    sql = _PostgreSQL() if connection.vendor == "postgresql" else _SQLite()
    quote = connection.ops.quote_name

    def col(name: str) -> str:
        return f"{quote(agent)}.{quote(Agent._meta.get_field(name).column)}"

    return sql.text(sql.obj({
        "id": sql.uuid(col("id")),
        "slug": col("slug"),
        "name": col("name"),
        "description": col("description"),
        "tags": sql.tags(col("id")),
        "status": col("status"),
        "runtime": sql.obj({"state": col("runtime_state"), "deployed_version": col("deployed_version"),
                            "started_at": sql.datetime(col("runtime_started_at"))}),
        "owner": sql.obj({"id": sql.uuid(col("owner")), "email": owner_email}),
        "role": role,
        "config": sql.public_config(col("config")),
        "pipeline": sql.pipeline(col("pipeline")),
        "stats": sql.obj(stats),
        "created_at": sql.datetime(col("created_at")),
        "updated_at": sql.datetime(col("updated_at")),
        "last_activity": sql.datetime(col("last_activity")),
    }))


def check_datetime_format(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A system check: the SQL writes date-times one way, so DRF must too,
    or the list and the detail of an agent would disagree."""
    if api_settings.DATETIME_FORMAT == API_DATETIME_FORMAT:
        return []
    return [checks.Error(
        f"REST_FRAMEWORK['DATETIME_FORMAT'] is {api_settings.DATETIME_FORMAT!r}, but the agents list's SQL "
        f"writes date-times as {API_DATETIME_FORMAT!r}.",
        hint="Keep DRF's DATETIME_FORMAT at the API's format (API.md §1), or change agents.representation_sql with it.",
        id="agents.E001",
    )]


def _tag_columns() -> tuple[str, str, str, str]:
    quote = connection.ops.quote_name
    table = quote(AgentTag._meta.db_table)
    columns = (quote(AgentTag._meta.get_field(name).column) for name in ("agent", "position", "name"))
    return (table, *(f"{table}.{column}" for column in columns))


class _SQLite:
    """SQLite's JSON functions (JSON1, which Django's ``JSONField`` needs
    too) and a window (3.25+).  A value a JSON function returns keeps its
    JSON type only within one expression, so what comes out of a subquery or
    a column is passed through ``json()`` to stay JSON."""

    def obj(self, pairs: dict[str, str]) -> str:
        return "json_object(" + ", ".join(f"'{key}', {value}" for key, value in pairs.items()) + ")"

    def text(self, value: str) -> str:
        return value

    def uuid(self, column: str) -> str:
        # Django stores a UUID on SQLite as its 32 hex digits.
        parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
        return "(" + " || '-' || ".join(f"substr({column}, {start}, {length})" for start, length in parts) + ")"

    def datetime(self, column: str) -> str:
        # Stored as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'; the API shows whole seconds.
        return f"(CASE WHEN {column} IS NULL THEN NULL ELSE replace(substr({column}, 1, 19), ' ', 'T') || 'Z' END)"

    def tags(self, agent_id: str) -> str:
        # A window's frame is aggregated in its ORDER BY, which a plain
        # aggregate does not promise (agents.sql.tag_pairs).  Setting one up
        # costs more than finding no tags, which most agents have, so the
        # window runs only for an agent that has some.
        table, agent, position, name = _tag_columns()
        rows = f"FROM {table} WHERE {agent} = {agent_id}"
        ordered = (f"SELECT json_group_array({name}) OVER (ORDER BY {position}, {name} ROWS BETWEEN UNBOUNDED "
                   f"PRECEDING AND UNBOUNDED FOLLOWING) {rows} LIMIT 1")
        return f"(CASE WHEN EXISTS (SELECT 1 {rows}) THEN json(({ordered})) ELSE json_array() END)"

    def public_config(self, column: str) -> str:
        # agents.config.public_config: each env value flattened, a secret masked.
        env = (f"SELECT json_group_object(env.key, CASE WHEN json_extract(env.value, '$.secret') "
               f"THEN json_object('secret', json('true')) "
               f"WHEN json_type(env.value, '$.value') IS NULL THEN '' "
               f"ELSE json_extract(env.value, '$.value') END) "
               f"FROM json_each({column}, '$.env') AS env WHERE json_type({column}, '$.env') = 'object'")
        masked = f"json_set({column}, '$.env', json(({env})))"
        # Each JSON function parses the config's text again: an empty env,
        # which most agents have, has nothing to mask, so it costs two parses,
        # not four.  json_quote leaves the object json_extract returns as it
        # is and quotes a string, so only the empty object takes this way.
        return f"(CASE WHEN json_quote(json_extract({column}, '$.env')) = '{{}}' THEN json({column}) ELSE {masked} END)"

    def pipeline(self, column: str) -> str:
        empty = "json_object('nodes', json_array(), 'edges', json_array())"
        return (f"(CASE WHEN {column} IS NULL OR json({column}) IN ('{{}}', 'null') THEN {empty} "
                f"ELSE json({column}) END)")


class _PostgreSQL:
    """PostgreSQL's: the JSON columns are ``jsonb``, the item ``json`` (its keys in the order written)."""

    def obj(self, pairs: dict[str, str]) -> str:
        return "json_build_object(" + ", ".join(f"'{key}', {value}" for key, value in pairs.items()) + ")"

    def text(self, value: str) -> str:
        return f"({value})::text"

    def uuid(self, column: str) -> str:
        return f"({column})::text"

    def datetime(self, column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

    def tags(self, agent_id: str) -> str:
        table, agent, position, name = _tag_columns()
        return (f"COALESCE((SELECT json_agg({name} ORDER BY {position}, {name}) FROM {table} "
                f"WHERE {agent} = {agent_id}), '[]'::json)")

    def public_config(self, column: str) -> str:
        env = (f"SELECT jsonb_object_agg(env.key, CASE WHEN env.value -> 'secret' = 'true'::jsonb "
               f"THEN '{{\"secret\": true}}'::jsonb ELSE COALESCE(env.value -> 'value', '\"\"'::jsonb) END) "
               f"FROM jsonb_each(CASE WHEN jsonb_typeof({column} -> 'env') = 'object' "
               f"THEN {column} -> 'env' END) AS env")
        masked = f"jsonb_set({column}, '{{env}}', COALESCE(({env}), '{{}}'::jsonb))"
        return f"(CASE WHEN {column} -> 'env' = '{{}}'::jsonb THEN {column} ELSE {masked} END)"

    def pipeline(self, column: str) -> str:
        return (f"(CASE WHEN {column} IS NULL OR {column} IN ('{{}}'::jsonb, 'null'::jsonb) "
                f"THEN '{{\"nodes\": [], \"edges\": []}}'::jsonb ELSE {column} END)")
