"""A thread's lease: which driver answers its messages.

A driver holds the lease while it runs the thread's turns, renews it as it
goes and lets it go when none is left; a lease whose holder stopped renewing
(``AGENTRY_EXECUTION_STALE_SECONDS``) is free for the next driver.  Each
change is one conditional UPDATE, so two drivers never hold a thread at once.
A chat message takes the lease (``driver.driver_ensure``) and a driver retakes
it after each round, so the claim is a statement written once per process
(``core.rows``), not the ORM's three-way ``Q`` built anew each time.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid

from django.db import connection
from django.utils import timezone

from core import rows
from executions.conversations.models import Thread
from executions.conversations.selectors import driver_stale_before


def driver_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def driver_claim(thread_id, name: str) -> bool:
    """Take the thread's lease if nobody holds a live one: no driver, no
    heartbeat, or one older than the stale limit."""
    seen = Thread._meta.get_field("driver_seen_at")
    return rows.execute(_claim_sql(), [name, seen.get_db_prep_value(timezone.now(), connection),
                                       rows.pk_value(Thread, thread_id),
                                       seen.get_db_prep_value(driver_stale_before(), connection)]) > 0


def driver_renew(thread_id, name: str) -> bool:
    return bool(rows.update(Thread, thread_id, {"driver_seen_at": timezone.now()}, driver=name))


def driver_release(thread_id, name: str) -> None:
    rows.update(Thread, thread_id, {"driver": "", "driver_seen_at": None, "active_execution": None}, driver=name)


@functools.cache
def _claim_sql() -> str:
    quote = connection.ops.quote_name
    driver, seen = (quote(Thread._meta.get_field(name).column) for name in ("driver", "driver_seen_at"))
    return (f"UPDATE {quote(Thread._meta.db_table)} SET {driver} = %s, {seen} = %s"
            f" WHERE {quote(Thread._meta.pk.column)} = %s AND ({driver} = '' OR {seen} IS NULL OR {seen} < %s)")
