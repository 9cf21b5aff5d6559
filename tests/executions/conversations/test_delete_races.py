"""Deleting a thread, or its agent, while a turn's journal stores events, on
a real PostgreSQL, where the two writers overlap (SQLite serialises them).
The journal inserts its events and moves the thread's ``last_event_seq``
(``Journal.flush``); if it committed after Django deleted the thread's events
but before the thread's own DELETE, the delete failed at commit on the
events left behind: a 500 for the client, and everything kept.  Each test
makes that interleaving happen: the journal commits as the delete is about
to remove the thread, unless the delete is found waiting for it."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from accounts.actor import Actor
from agents.models import Agent
from agents.services import agent_delete
from executions.conversations.models import Thread, ThreadEvent
from executions.conversations.services.threads import thread_delete

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _delete_while_a_journal_stores(thread: Thread, delete) -> None:
    """Call ``delete()`` while another connection does Journal.flush's writes
    for ``thread``, committing them once the delete is about to remove the
    thread itself (or is found waiting for that transaction)."""
    deleting_pid = _backend_pid()
    stored, thread_next, done = threading.Event(), threading.Event(), threading.Event()

    def store_events():
        try:
            with transaction.atomic():
                ThreadEvent.objects.create(thread_id=thread.pk, seq=2, event="delta", data={})
                Thread.objects.filter(pk=thread.pk).update(last_event_seq=2)
                stored.set()
                while not thread_next.is_set() and not _waiting_on_a_lock(deleting_pid):
                    thread_next.wait(0.01)
        except IntegrityError:
            pass  # the thread went first: Journal.flush lets its events go
        finally:
            done.set()
            connections.close_all()

    def before_the_threads_delete(execute, sql, params, many, context):
        if sql.startswith(f'DELETE FROM "{Thread._meta.db_table}" WHERE'):
            thread_next.set()
            done.wait(10)
        return execute(sql, params, many, context)

    writer = threading.Thread(target=store_events)
    writer.start()
    assert stored.wait(10)
    with connection.execute_wrapper(before_the_threads_delete):
        delete()
    writer.join(10)
    assert not writer.is_alive()


def test_events_stored_as_the_thread_is_deleted_go_with_it(make_user, make_agent):
    owner = make_user("owner")
    thread = Thread.objects.create(agent=make_agent(owner, "Chatty"), created_by=owner)
    ThreadEvent.objects.create(thread=thread, seq=1, event="message.created", data={})

    _delete_while_a_journal_stores(thread, lambda: thread_delete(thread=thread, actor=Actor(user=owner)))

    assert not Thread.objects.filter(pk=thread.pk).exists()
    assert not ThreadEvent.objects.exists()


def test_events_stored_as_the_agent_is_deleted_go_with_it(make_user, make_agent):
    """The agent's delete cascades to its threads: the same race, one level down."""
    owner = make_user("owner")
    agent = make_agent(owner, "Chatty")
    thread = Thread.objects.create(agent=agent, created_by=owner)
    ThreadEvent.objects.create(thread=thread, seq=1, event="message.created", data={})

    _delete_while_a_journal_stores(
        thread, lambda: agent_delete(agent=Agent.objects.get(pk=agent.pk), actor=Actor(user=owner)))

    assert not Agent.objects.filter(pk=agent.pk).exists()
    assert not Thread.objects.exists() and not ThreadEvent.objects.exists()
