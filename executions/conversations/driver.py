"""The thread's driver: answers its pending messages one at a time.

Holding the thread's lease, it takes the oldest pending user message, runs
its turn and stores the answer (``answer``), until none is left; then it
stores what its journal holds and lets the lease go.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from core import rows
from executions.conversations.answer import Turn, fail_unfinished, run_turn, turn_take
from executions.conversations.journal import Journal, journal_close, journal_open
from executions.conversations.lease import driver_claim, driver_name, driver_release, driver_renew
from executions.conversations.loop import turn_loop
from executions.conversations.models import Message, MessageStatus, Thread
from executions.conversations.selectors import has_pending_messages, next_pending_message

logger = logging.getLogger("agentry.conversations")


def driver_ensure(thread_id) -> bool:
    """Start a driver for the thread on this process's turn loop, unless one
    runs already (here or in another process).  Once the lease is taken, the
    driver's opening reads (``_opening``) are made here, in the caller's trip
    to the database (a chat request's), and so is the first turn's start
    when no other call waits for the thread (``answer.turn_take``): the model
    is then called without a trip of the driver's own.  On SQLite that trip
    queued behind the request's response and its stream's first read, and
    crossed threads twice more before the model's first token."""
    name = driver_name()
    opening = _claim(thread_id, name)
    if opening is None:
        return False
    turn_loop.submit(drive(thread_id, name, opening=opening))
    return True


def _claim(thread_id, name: str) -> tuple[int, Turn | None] | None:
    """Take the thread's lease and make the opening reads (``_opening``), or
    None when a live driver holds it."""
    return _opening(thread_id) if driver_claim(thread_id, name) else None


def _last_stored_seq(thread_id) -> int:
    found = rows.values_where(Thread, ("last_event_seq",), id=thread_id)
    return found[0] if found else 0


def _opening(thread_id) -> tuple[int, Turn | None]:
    """What a driver reads as it takes the lease, in one trip to the database
    thread: the last stored event's seq and the first turn (``_next_turn``)."""
    return _last_stored_seq(thread_id), _next_turn(thread_id)


def _next_turn(thread_id) -> Turn | None:
    """The next message to answer (``next_pending_message``), joining the
    conversation now: after the turns ahead of it, so a message sent during
    another turn is ordered after its answer.  Its turn starts in the same
    trip (``answer.turn_take``)."""
    message = next_pending_message(thread_id)
    if message is None:
        return None
    message.status, message.created_at = MessageStatus.COMPLETED, timezone.now()
    rows.update(Message, message.pk, {"status": message.status, "created_at": message.created_at})
    return turn_take(message)


async def drive(thread_id, name: str, opening: tuple[int, Turn | None] | None = None) -> None:
    """Answer the thread's pending messages, then let the lease go; with
    ``opening``, what ``_opening`` read once the lease was taken.

    On PostgreSQL the driver's database work runs on a thread of its own (as
    a request's does), so concurrent turns overlap their round trips instead
    of queueing on the one thread every context-less ``sync_to_async`` of the
    process shares.  SQLite has one writer: threads with connections of their
    own only queue on its lock, whose busy handler sleeps and backs off
    between tries, so there a driver's work stays on the shared thread (200
    concurrent turns in ``bench/chat_bench.py``: the first delta after 7.8 s
    at the median instead of 13.5 s)."""
    if connection.vendor == "sqlite":
        await _drive(thread_id, name, opening)
        return
    async with ThreadSensitiveContext():
        try:
            await _drive(thread_id, name, opening)
        finally:
            await sync_to_async(connections.close_all)()  # that thread ends with the context


async def _drive(thread_id, name: str, opening: tuple[int, Turn | None] | None) -> None:
    seq, turn = opening if opening is not None else await sync_to_async(_opening)(thread_id)
    journal = journal_open(thread_id, seq)
    keeper = asyncio.ensure_future(_keep(journal, name))
    released = False  # the journal stored and the lease let go, nothing emitted since
    try:
        while True:
            if turn is None:
                # Store everything, let go, then look once more (``_let_go``):
                # a message sent while letting go found the lease taken and
                # relies on this look.
                pending = await sync_to_async(_let_go)(journal, thread_id, name)
                released = True
                if not pending:
                    return
                opening = await sync_to_async(_claim)(thread_id, name)
                if opening is None:
                    return  # another driver has it
                released = False
                journal_close(journal)
                seq, turn = opening
                journal = journal_open(thread_id, seq)
                keeper.cancel()
                keeper = asyncio.ensure_future(_keep(journal, name))
                continue
            try:
                await run_turn(journal, turn)
            except Exception:
                if not await Thread.objects.filter(pk=thread_id).aexists():
                    logger.info("Thread %s was deleted during a turn", thread_id)
                    return
                # a bug in one turn must not strand the others
                logger.exception("Chat turn for message %s crashed", turn.message.pk)
                await fail_unfinished(journal, turn.message)
            turn = await sync_to_async(_turn_over)(journal, thread_id)
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        try:
            if not released:
                await sync_to_async(journal.flush)()
        finally:
            journal_close(journal)
            if not released:
                await sync_to_async(driver_release)(thread_id, name)


def _turn_over(journal: Journal, thread_id) -> Turn | None:
    """After a turn, in one trip to the database thread: store what the
    journal holds (the turn's last events), then take the next turn."""
    journal.flush()
    return _next_turn(thread_id)


def _let_go(journal: Journal, thread_id, name: str) -> bool:
    """In one trip to the database thread, in this order: store what the
    journal holds, let the lease go, then look for a pending message (whether
    one came meanwhile)."""
    journal.flush()
    driver_release(thread_id, name)
    return has_pending_messages(thread_id)


async def _keep(journal: Journal, name: str) -> None:
    """Store the journal in batches and renew the lease, while the driver runs."""
    every = settings.AGENTRY_CHAT_FLUSH_SECONDS
    renew_every = max(every, settings.AGENTRY_EXECUTION_HEARTBEAT_SECONDS)
    since_renew = 0.0
    while True:
        await asyncio.sleep(every)
        try:
            await sync_to_async(journal.flush)()
            since_renew += every
            if since_renew >= renew_every:
                since_renew = 0.0
                await sync_to_async(driver_renew)(journal.thread_id, name)
        except Exception:  # the database hiccuped: the next round stores it
            logger.warning("Storing the events of thread %s failed", journal.thread_id, exc_info=True)
