"""The event loop chat turns run on, one per process.

A turn must outlive the request that started it (a client that disconnects
loses nothing), and must run whatever serves the request: daphne's loop, a
WSGI thread, a test client.  So turns run as tasks on this process's own
loop, in a daemon thread started on first use, like an in-process worker:
the provider's stream, the engine and the recording are all async there,
and the database is reached through ``sync_to_async`` as everywhere else.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import os
import threading
from collections.abc import Coroutine

logger = logging.getLogger("agentry.conversations")


class TurnLoop:
    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._tasks: set[concurrent.futures.Future] = set()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or not self._loop.is_running():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def serve():
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name="chat-turns", daemon=True).start()
                ready.wait()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def submit(self, coroutine: Coroutine) -> concurrent.futures.Future:
        """Run ``coroutine`` on the turn loop; its failures are logged, never lost.

        It starts in an empty context: the caller's (a request's) holds
        asgiref's executor for that request, which is gone once it ends."""
        loop = self._running_loop()
        future = contextvars.Context().run(asyncio.run_coroutine_threadsafe, coroutine, loop)
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
