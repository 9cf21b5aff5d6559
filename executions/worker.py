"""Many executions at once in one Celery worker process.

A run spends its life waiting: on its model, its tools, the database.  So it
does not hold a pool slot from start to end: the run task claims the
execution (one conditional UPDATE, as ever) and hands it to this process's
event loop, a daemon thread started on first use, where up to
``AGENTRY_WORKER_CONCURRENCY`` runs share one thread; then the task returns
and the worker takes the next message.  The database is reached through
``sync_to_async`` as everywhere else: from this loop that is asgiref's one
thread for thread-sensitive code, so the runs share one connection (one
writer, as SQLite wants it).

What a dead process leaves is settled as before.  The message is acked once
the execution is claimed, and from then on the row (``running``, this worker's
name, a heartbeat) is what counts: a killed worker's runs are failed by the
same node name starting again, or by the reaper once their heartbeat stops.
A worker stopping warmly takes no new run and waits for those it runs.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading

from asgiref.sync import sync_to_async
from celery.signals import worker_process_shutdown, worker_shutdown, worker_shutting_down
from django.conf import settings
from django.db import close_old_connections

from core.process_loop import ProcessLoop
from executions.services import runs

logger = logging.getLogger("agentry.executions")

SLOT_WAIT_SECONDS = 0.5  # how often a task waiting for a free slot checks whether the worker is stopping


class WorkerStopping(Exception):
    """The worker is shutting down and starts no more runs."""


class ExecutionRunner:
    """This process's loop of running executions, with a bounded number of slots."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = ProcessLoop("executions")
        self._slots: threading.BoundedSemaphore | None = None
        self._runs: set[concurrent.futures.Future] = set()
        self._stopping = False

    def run(self, execution_id, *, worker: str) -> bool:
        """Claim ``execution_id`` for ``worker`` and start it on the loop, once
        a slot is free; ``False`` if someone else had it (or it was cancelled).
        Returns when the claim is written, not when the run ends.  Raises
        ``WorkerStopping`` instead of waiting for a slot on a stopping worker."""
        slots = self._started()
        while not slots.acquire(timeout=SLOT_WAIT_SECONDS):
            if self._stopping:
                raise WorkerStopping
        claimed: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future = self._loop.submit(_claim_and_execute(execution_id, worker, claimed))
        except BaseException:
            slots.release()
            raise
        with self._lock:
            self._runs.add(future)
        future.add_done_callback(lambda done: self._finished(done, slots))
        return claimed.result()

    def in_flight(self) -> int:
        """Runs claimed by this process and not finished yet."""
        with self._lock:
            return len(self._runs)

    def stop_taking(self) -> None:
        """Start no more runs: tasks waiting for a slot give their message back."""
        self._stopping = True

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the runs in flight; whether they all ended."""
        self.stop_taking()
        with self._lock:
            pending = set(self._runs)
        if not pending:
            return True
        logger.info("Waiting for %d running executions to finish", len(pending))
        _, unfinished = concurrent.futures.wait(pending, timeout=timeout)
        if unfinished:
            logger.warning("%d executions still running at shutdown; the reaper will settle them", len(unfinished))
        return not unfinished

    def _started(self) -> threading.BoundedSemaphore:
        """The slots of this process's loop, started on first use (a forked
        pool child starts its own, with slots and runs of its own)."""
        with self._lock:
            _loop, started = self._loop.ensure()
            if started:
                self._runs = set()
                self._slots = threading.BoundedSemaphore(settings.AGENTRY_WORKER_CONCURRENCY)
            return self._slots

    def _finished(self, future: concurrent.futures.Future, slots: threading.BoundedSemaphore) -> None:
        with self._lock:
            self._runs.discard(future)
        slots.release()
        if not future.cancelled() and future.exception() is not None:
            logger.error("An execution's run crashed", exc_info=future.exception())


async def _claim_and_execute(execution_id, worker: str, claimed: concurrent.futures.Future) -> None:
    try:
        won = await sync_to_async(_claim)(execution_id, worker)
    except BaseException as exc:  # the task that waits for the claim raises it
        claimed.set_exception(exc)
        if not isinstance(exc, Exception):
            raise
        return
    claimed.set_result(won)
    if not won:
        return
    try:
        await runs.execution_execute(execution_id)
    except Exception:  # the engine settles its own failures; this is the database or worse
        logger.exception("Execution %s could not run", execution_id)
        await sync_to_async(runs.execution_abandon)(execution_id, reason="The execution could not run.")


def _claim(execution_id, worker: str) -> bool:
    # The loop's database thread lives as long as the process; as Django does
    # between requests, drop its connection once too old (CONN_MAX_AGE) or broken.
    close_old_connections()
    return runs.execution_claim(execution_id, worker=worker)


runner = ExecutionRunner()


@worker_shutting_down.connect
def _stop_taking_runs(**kwargs) -> None:
    runner.stop_taking()


@worker_shutdown.connect  # the solo and threads pools: the runs live in the main process
@worker_process_shutdown.connect  # prefork: they live in each child
def _wait_for_runs(**kwargs) -> None:
    runner.drain(timeout=settings.AGENTRY_EXECUTION_MAX_TIMEOUT)
