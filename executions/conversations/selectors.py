"""Reads: which threads a caller sees, their messages, a thread's state.

Every member of an agent reads its threads (API.md §2: viewers read
threads); only the user who started a thread writes to it (chat, rename,
archive, delete, cancel) — anyone else gets 404 for a write, as for a thread
that does not exist.  Staff act as owner everywhere, so they write too.
"""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from agents.models import Agent
from agents.selectors import deployed_config
from core.errors import NotFound
from core.rows import JoinedColumns, ModelColumns, column, exists_where, fetch_all, fetch_one, pk_value
from executions.conversations.journal import MESSAGE_CREATED
from executions.conversations.models import Message, MessageRole, MessageStatus, Thread, ThreadEvent


def thread_list(*, agent: Agent, archived: bool | None = False, created_by=None) -> QuerySet[Thread]:
    threads = Thread.objects.filter(agent=agent).select_related("created_by")
    if archived is not None:
        threads = threads.filter(archived=archived)
    if created_by is not None:
        threads = threads.filter(created_by=created_by)
    return threads


def thread_get(*, agent: Agent, user, ref, write: bool = False) -> Thread:
    """The agent's thread ``ref``; with ``write``, only if ``user`` may write
    to it.  404 otherwise, whether it exists or not."""
    try:
        thread_id = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound("No such thread.") from None
    sql, columns = _thread_read()
    row = fetch_one(sql, [pk_value(Agent, agent.pk), pk_value(Thread, thread_id)])
    if row is None:
        raise NotFound("No such thread.")
    thread, created_by = columns.instances(row)
    thread.created_by = created_by
    if write and not may_write(thread, user):
        raise NotFound("No such thread.")
    return thread


@functools.cache
def _thread_read() -> tuple[str, JoinedColumns]:
    """One thread of an agent with who started it: every chat turn, stream and
    page of a thread reads it, and the ORM took a millisecond to build it for
    a tenth of that in the database (docs/PERFORMANCE.md)."""
    quote = connection.ops.quote_name
    user_model = Thread._meta.get_field("created_by").related_model
    columns = JoinedColumns(ModelColumns(Thread, "thread"), ModelColumns(user_model, "created_by"))
    sql = (f"SELECT {columns.select()} FROM {quote(Thread._meta.db_table)} {quote('thread')}"
           f" INNER JOIN {quote(user_model._meta.db_table)} {quote('created_by')}"
           f" ON {column('created_by', user_model, 'id')} = {column('thread', Thread, 'created_by')}"
           f" WHERE {column('thread', Thread, 'agent')} = %s AND {column('thread', Thread, 'id')} = %s")
    return sql, columns


def may_write(thread: Thread, user) -> bool:
    return thread.created_by_id == user.pk or bool(getattr(user, "is_staff", False))


def message_list(*, thread: Thread) -> QuerySet[Message]:
    return Message.objects.filter(thread=thread)


def thread_follow_seq(thread_id) -> int:
    """The event seq after which a page that shows the thread's stored
    messages, read *after* this call, follows the thread (the WebSocket's
    ``last_event_id``) without missing anything: the last stored event when
    no turn runs (a driver stores everything before letting go), else just
    before the newest stored turn start, so the running turn is replayed from
    its beginning.  Events of turns the page already shows answered come
    again; the page skips those by their ``message_id``."""
    row = Thread.objects.filter(pk=thread_id).values("last_event_seq", "driver").first()
    if row is None:
        raise NotFound("No such thread.")
    if not row["driver"]:
        return row["last_event_seq"]
    started = (ThreadEvent.objects.filter(thread_id=thread_id, event=MESSAGE_CREATED).order_by("-seq")
               .values_list("seq", flat=True).first())
    return started - 1 if started else 0


def session_policy(agent: Agent) -> dict:
    """The policy the agent's chat runs under: the deployed version's while it runs, else the draft's."""
    config = deployed_config(agent) or agent.config
    return config["session_policy"]


def context_policy(config: dict) -> dict:
    return config["context_policy"]


def multitask_strategy(thread: Thread, policy: dict) -> str:
    return thread.multitask_strategy or policy.get("multitask_strategy", "enqueue")


def session_active(thread: Thread, policy: dict, now=None) -> bool:
    """Whether the thread's session is still on: not archived, not idle past
    the timeout, not older than the longest session."""
    now = now or timezone.now()
    return (not thread.archived
            and thread.last_activity_at > now - timedelta(seconds=policy["idle_timeout_seconds"])
            and thread.session_started_at > now - timedelta(seconds=policy["max_session_duration_seconds"]))


def active_sessions(*, agent: Agent, user, policy: dict, now=None) -> QuerySet[Thread]:
    """The user's threads on the agent whose session is on, oldest activity first."""
    now = now or timezone.now()
    return (Thread.objects.filter(
        agent=agent, created_by=user, archived=False,
        last_activity_at__gt=now - timedelta(seconds=policy["idle_timeout_seconds"]),
        session_started_at__gt=now - timedelta(seconds=policy["max_session_duration_seconds"]))
        .order_by("last_activity_at"))


def driver_stale_before():
    return timezone.now() - timedelta(seconds=settings.AGENTRY_EXECUTION_STALE_SECONDS)


def driver_live(thread: Thread) -> bool:
    """``thread_busy`` from a row the caller has just read (no query)."""
    return bool(thread.driver) and thread.driver_seen_at is not None \
        and thread.driver_seen_at >= driver_stale_before()


def thread_busy(thread_id) -> bool:
    """Whether a live driver is running the thread's turns (or has some queued)."""
    return Thread.objects.filter(pk=thread_id).exclude(driver="").filter(
        driver_seen_at__gte=driver_stale_before()).exists()


def pending_messages(thread_id) -> QuerySet[Message]:
    return Message.objects.filter(thread_id=thread_id, role=MessageRole.USER,
                                  status=MessageStatus.PENDING).order_by("created_at", "id")


def has_pending_messages(thread_id) -> bool:
    """Whether some of ``pending_messages`` waits: one statement written once
    per process (asked as every driver lets go and as every stream idles)."""
    return exists_where(Message, thread_id=thread_id, role=MessageRole.USER, status=MessageStatus.PENDING)


def next_pending_message(thread_id) -> Message | None:
    """The oldest of ``pending_messages``, with its thread, the thread's agent
    and who started the thread: what a driver reads before each turn, so one
    statement written once per process (``core.rows``), as the ORM's
    four-model ``select_related`` took a millisecond and a half to build,
    compile and load against 0.2 ms in the database."""
    sql, columns = _next_pending_read()
    row = fetch_one(sql, [pk_value(Thread, thread_id)])
    if row is None:
        return None
    message, thread, agent, created_by = columns.instances(row)
    thread.agent, thread.created_by = agent, created_by
    message.thread = thread
    return message


@functools.cache
def _next_pending_read() -> tuple[str, JoinedColumns]:
    quote = connection.ops.quote_name
    user_model = Thread._meta.get_field("created_by").related_model
    tables = {"message": Message, "thread": Thread, "agent": Agent, "created_by": user_model}

    def col(alias: str, field: str) -> str:
        return column(alias, tables[alias], field)

    def join(alias: str, on: str) -> str:
        return f" INNER JOIN {quote(tables[alias]._meta.db_table)} {quote(alias)} ON {col(alias, 'id')} = {on}"

    columns = JoinedColumns(*(ModelColumns(model, alias) for alias, model in tables.items()))
    sql = (f"SELECT {columns.select()} FROM {quote(Message._meta.db_table)} {quote('message')}"
           + join("thread", col("message", "thread"))
           + join("agent", col("thread", "agent"))
           + join("created_by", col("thread", "created_by"))
           + f" WHERE {col('message', 'thread')} = %s"
           f" AND {col('message', 'role')} = '{MessageRole.USER.value}'"
           f" AND {col('message', 'status')} = '{MessageStatus.PENDING.value}'"
           f" ORDER BY {col('message', 'created_at')}, {col('message', 'id')} LIMIT 1")
    return sql, columns


def thread_quiet(thread_id) -> bool:
    """Nothing runs on the thread and nothing waits: a stream of it can end."""
    return not thread_busy(thread_id) and not has_pending_messages(thread_id)


def context_messages(thread: Thread, *, since, limit: int) -> list[Message]:
    """The newest ``limit`` answered messages of the thread's session after
    ``since`` (and after what the summary covers), oldest first."""
    start = max(filter(None, (since, thread.summary_through)))
    sql, columns = _context_read()
    created_at = Message._meta.get_field("created_at").get_db_prep_value(start, connection)
    newest_first = fetch_all(sql, [pk_value(Thread, thread.pk), created_at, limit])
    return [columns.instance(row) for row in reversed(newest_first)]


@functools.cache
def _context_read() -> tuple[str, ModelColumns]:
    """A turn's history, in one statement written once per process: the
    answered messages (every answer, and the user's messages a turn took up),
    no failed turn and no slash command, newest first."""
    quote = connection.ops.quote_name
    columns = ModelColumns(Message, "message")

    def col(field: str) -> str:
        return column("message", Message, field)

    sql = (f"SELECT {columns.select()} FROM {quote(Message._meta.db_table)} {quote('message')}"
           f" WHERE {col('thread')} = %s AND {col('created_at')} > %s"
           f" AND ({col('role')} = '{MessageRole.ASSISTANT.value}'"
           f" OR NOT ({col('status')} = '{MessageStatus.PENDING.value}'))"
           f" AND NOT ({col('status')} = '{MessageStatus.FAILED.value}') AND NOT ({col('command')} > '')"
           f" ORDER BY {col('created_at')} DESC, {col('id')} DESC LIMIT %s")
    return sql, columns
