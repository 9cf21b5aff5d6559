"""Live delivery of execution events inside one process.

Events are stored first (``ExecutionEvent``) and then announced here, so an
SSE stream in this process wakes at once instead of at its next poll; token
deltas, which are not stored, travel only this way.  Streams in other
processes (an execution running in a Celery worker) find new events by
polling the table, which is the source of truth either way.

Publishers may be on any thread or event loop; each subscriber's queue is
fed on its own loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

MAX_QUEUED = 1000


class Subscription:
    def __init__(self, hub: "Hub", key: str):
        self.hub, self.key = hub, key
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=MAX_QUEUED)

    def offer(self, message: dict) -> None:
        if not self.queue.full():  # a slow reader loses deltas, never stored events (it re-reads those)
            self.queue.put_nowait(message)

    async def get(self, timeout: float) -> dict | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.hub._remove(self)


class Hub:
    def __init__(self):
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, execution_id) -> Subscription:
        subscription = Subscription(self, str(execution_id))
        with self._lock:
            self._subscribers[subscription.key].add(subscription)
        return subscription

    def publish(self, execution_id, message: dict) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(str(execution_id), ()))
        for subscription in subscribers:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, message)
            except RuntimeError:  # that loop has closed; its stream is gone
                subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscribers.get(subscription.key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[subscription.key]


hub = Hub()
