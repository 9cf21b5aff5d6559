"""Correlated subqueries on an agent, written once per process as SQL.

Built with the ORM (``Exists``, ``Subquery``), each costs more to construct
and compile on every request than the database takes to run it: a profile of
the agents list put the visibility filter's and the role's construction and
compilation at a fifth of the request.  Here they are :class:`AgentSQL`
expressions: the SQL text is made once, and only the outer agent's id column
(compiled from ``F("pk")``, so an aliased agent table, as in a subquery,
works too) and the values are filled in per query.
"""

from __future__ import annotations

import functools

from django.apps import apps
from django.db import connection
from django.db.models import BooleanField, CharField, F, Func, IntegerField, Value

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


def role_of(user) -> AgentSQL:
    """``user``'s role on the agent, or NULL."""
    return AgentSQL(_membership_sql()["role"], user.pk, output_field=CharField())


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
    return {"exists": f"EXISTS (SELECT 1 FROM {table} WHERE {where})",
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
