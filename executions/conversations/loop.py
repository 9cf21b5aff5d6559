"""The event loop chat turns run on, one per process.

A turn must outlive the request that started it (a client that disconnects
loses nothing), and must run whatever serves the request: daphne's loop, a
WSGI thread, a test client.  So turns run as tasks on this process's own
loop, in a daemon thread started on first use, like an in-process worker:
the provider's stream, the engine and the recording are all async there,
and the database is reached through ``sync_to_async`` as everywhere else.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Coroutine

from core.process_loop import ProcessLoop

logger = logging.getLogger("agentry.conversations")


class TurnLoop:
    def __init__(self):
        self._loop = ProcessLoop("chat-turns")
        self._tasks: set[concurrent.futures.Future] = set()

    def submit(self, coroutine: Coroutine) -> concurrent.futures.Future:
        """Run ``coroutine`` on the turn loop; its failures are logged, never lost.

        It starts in an empty context: the caller's (a request's) holds
        asgiref's executor for that request, which is gone once it ends."""
        future = self._loop.submit(coroutine)
        self._tasks.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future) -> None:
        self._tasks.discard(future)
        if not future.cancelled() and future.exception() is not None:
            logger.error("A chat driver crashed", exc_info=future.exception())

    def pending(self) -> int:
        return len(self._tasks)


turn_loop = TurnLoop()
