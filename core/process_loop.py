"""An event loop of the process's own, in a daemon thread started on first use.

Work that must outlive whatever started it (a chat turn after its request, a
run after its Celery task returned) runs as tasks on such a loop.  A forked
child inherits the object but not the thread, so the loop is started again
in a process that is not the one that started it.

It is asyncio's own loop, not uvloop's (which the web server runs on): on
uvloop a lone chat turn took 2-6% less CPU but its first delta came 0.4 ms
later (docs/PERFORMANCE.md, fourteenth pass), and executions/s did not move.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import threading
from collections.abc import Coroutine


class ProcessLoop:
    def __init__(self, name: str):
        self.name = name  # the thread's
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None

    def ensure(self) -> tuple[asyncio.AbstractEventLoop, bool]:
        """This process's running loop, and whether it was started by this call."""
        with self._lock:
            if self._loop is not None and self._pid == os.getpid() and self._loop.is_running():
                return self._loop, False
            ready = threading.Event()
            loop = asyncio.new_event_loop()

            def serve():
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=serve, name=self.name, daemon=True).start()
            ready.wait()
            self._loop, self._pid = loop, os.getpid()
            return loop, True

    def submit(self, coroutine: Coroutine) -> concurrent.futures.Future:
        """Run ``coroutine`` on the loop, in an empty context: the caller's (a
        request's, a Celery task's) belongs to something that ends first, and
        asgiref keeps its executor for that caller there."""
        loop, _started = self.ensure()
        return contextvars.Context().run(asyncio.run_coroutine_threadsafe, coroutine, loop)
