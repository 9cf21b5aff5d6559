"""Live delivery of execution events to the streams that follow them.

A running execution announces each event here with its content, its id and
the id of the event before it, as it happens (``services.run_log``), before
it is written; writers without a run log store an event first and announce
its id only, a wake-up.  Token deltas, which are not stored, travel only this
way.  The table stays the source of truth: a stream that misses an
announcement (or joins after events it did not hear) reads the table, where
the run writes everything in batches.

Two transports, chosen by the channel layer in settings:

* a cross-process layer (channels-redis, with ``REDIS_URL``): announcements
  go to the group ``execution.<id>`` so streams in any web process hear runs
  in any worker, and WebSocket consumers can join the same group;
* otherwise an in-process hub: Channels' in-memory layer is bound to one event
  loop, while runs announce from worker threads and other loops.  Streams of
  runs in another process then rely on polling.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections import defaultdict
from functools import cache

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer

logger = logging.getLogger("agentry.executions")

MAX_QUEUED = 1000


def group_name(execution_id) -> str:
    return f"execution.{execution_id}"


@cache
def _configured_layer():
    """The configured channel layer when it reaches other processes, else None."""
    layer = get_channel_layer()
    return None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer


_loop_layers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _shared_layer():
    """The cross-process layer for the running event loop, else None.

    channels-redis lets one layer instance receive on one event loop only, and
    this process runs several (the server's, the chat turn loop, asgiref's for
    sync callers): each loop gets an instance of its own, made from the same
    configuration.  They meet in Redis, as other processes' do."""
    if _configured_layer() is None:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _configured_layer()
    layer = _loop_layers.get(loop)
    if layer is None:
        layer = _loop_layers[loop] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    return layer


class Subscription:
    """One stream's inbox: messages for one feed (an execution, a thread), fed on its own loop."""

    def __init__(self, key: str, group: str | None = None):
        self.key = key
        self.group = group or group_name(key)
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=MAX_QUEUED)
        self._reader: asyncio.Task | None = None
        self._channel: str | None = None

    def offer(self, message: dict) -> None:
        if not self.queue.full():  # a slow reader loses deltas, never stored events (it re-reads those)
            self.queue.put_nowait(message)

    async def get(self, timeout: float) -> dict | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def get_nowait(self) -> dict | None:
        return None if self.queue.empty() else self.queue.get_nowait()

    async def join(self, layer) -> None:
        """Also listen on the shared layer's group for this feed."""
        try:
            self._channel = await layer.new_channel()
            await layer.group_add(self.group, self._channel)
        except Exception:  # the layer is down: polling still delivers
            logger.warning("Channel layer unavailable; execution %s is followed by polling", self.key, exc_info=True)
            self._channel = None
            return

        async def read():
            while True:
                message = dict(await layer.receive(self._channel))
                message["type"] = message.pop("kind", "event")
                self.offer(message)

        self._reader = asyncio.ensure_future(read())

    async def leave(self, layer) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._channel is not None:
            try:
                await layer.group_discard(self.group, self._channel)
            except Exception:  # expiry cleans up what we cannot
                logger.debug("group_discard failed for %s", self.key, exc_info=True)


class Hub:
    """In-process fan-out, safe to publish to from any thread or loop."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers[subscription.key].add(subscription)

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscribers.get(subscription.key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[subscription.key]

    def has(self, key: str) -> bool:
        with self._lock:
            return bool(self._subscribers.get(key))

    def publish(self, key: str, message: dict) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(key, ()))
        for subscription in subscribers:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, message)
            except RuntimeError:  # that loop has closed; its stream is gone
                self.remove(subscription)


hub = Hub()


def _layer_message(message: dict) -> dict:
    # Channel-layer messages carry their handler name in "type" (consumers
    # dispatch on it); ours travels as "kind".
    return {**message, "type": "execution.event", "kind": message["type"]}


def publish(execution_id, message: dict, *, group: str | None = None) -> None:
    """Announce ``message`` (``{"type": "event", "id"[, "after", "event",
    "data"]}`` or ``{"type": "delta", "node_id", "content"}``) to every stream following the execution (or the
    feed ``group`` names, keyed by ``execution_id``).  Never raises: a lost
    announcement only delays a stream until its next poll."""
    layer = _shared_layer()
    if layer is None:
        hub.publish(str(execution_id), message)
        return
    try:
        async_to_sync(layer.group_send)(group or group_name(execution_id), _layer_message(message))
    except Exception:
        logger.warning("Could not announce an event of %s", execution_id, exc_info=True)


async def apublish(execution_id, message: dict, *, group: str | None = None) -> None:
    """``publish`` from async code (token deltas, many a second)."""
    layer = _shared_layer()
    if layer is None:
        hub.publish(str(execution_id), message)
        return
    try:
        await layer.group_send(group or group_name(execution_id), _layer_message(message))
    except Exception:
        logger.warning("Could not announce a delta of %s", execution_id, exc_info=True)


def shared() -> bool:
    """Whether announcements reach other processes (a shared channel layer)."""
    return _configured_layer() is not None


def listened(execution_id) -> bool:
    """Whether anything may be following the execution now: a stream in
    this process, or, with a shared layer, anything anywhere (it cannot tell)."""
    return shared() or hub.has(str(execution_id))


class subscribe:
    """``async with subscribe(execution_id) as inbox:`` — what is announced
    for the execution (or for the feed keyed ``execution_id`` on ``group``),
    from this process or (with a shared layer) any other."""

    def __init__(self, execution_id, *, group: str | None = None):
        self.key = str(execution_id)
        self.group = group

    async def __aenter__(self) -> Subscription:
        self.subscription = Subscription(self.key, self.group)
        layer = _shared_layer()
        if layer is None:
            hub.add(self.subscription)
        else:
            await self.subscription.join(layer)
        return self.subscription

    async def __aexit__(self, *exc_info) -> None:
        layer = _shared_layer()
        if layer is None:
            hub.remove(self.subscription)
        else:
            await self.subscription.leave(layer)
