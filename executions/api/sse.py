"""Server-Sent Events for executions.

A stream reads the execution's events after the client's last id (stored,
then those the run in this process has not written yet:
``recording.events_after``), then follows the live feed: each announcement
carries its event and the id of the one before it, so one that follows the
last sent goes out at once, and one after a gap (the reader joined while
events were still unwritten in another process, or lost announcements)
sends the stream back to the table, polled until the run writes them.
Announcements without content (writers without a run log) and quiet polls
read the table too.  It ends after the ``done`` event.  Token deltas are
live only: they carry no id, because a resumed stream replays stored
events, not tokens.
"""

from __future__ import annotations

import json
import time
from typing import NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import BaseRenderer

from core.errors import ValidationFailed
from executions import live
from executions.services.run_log import events_after

LAST_EVENT_ID = OpenApiParameter(
    "Last-Event-ID", OpenApiTypes.INT, OpenApiParameter.HEADER, required=False,
    description="Resume after this event id (also accepted as the last_event_id query parameter).")
KEEPALIVE_SECONDS = 15
STREAM_GRACE_SECONDS = 60
RETRY = b"retry: 1000\n\n"  # how long a disconnected EventSource waits before reconnecting (ms)


class EventStreamRenderer(BaseRenderer):
    """Lets clients send ``Accept: text/event-stream``; errors still render as JSON."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


def parse_last_event_id(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id") or "0"
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValidationFailed("Last-Event-ID must be a non-negative event id.",
                               errors={"Last-Event-ID": ["Must be a non-negative integer."]})
    return value


def format_event(kind: str, data, event_id: int | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {kind}")
    # Keys sorted: an event reads the same from memory as from the table (PostgreSQL's jsonb reorders them).
    lines.append(f"data: {json.dumps(data, separators=(',', ':'), sort_keys=True, default=str)}")
    return ("\n".join(lines) + "\n\n").encode()


class LiveEvent(NamedTuple):
    """An event as its announcement carries it."""

    id: int
    kind: str
    data: dict


class _Cursor:
    """Where a stream is: turns newly read events into SSE bytes and knows
    when the stream is over.  Shared by the async and the sync stream."""

    def __init__(self, last_id: int, kinds: tuple[str, ...] | None):
        self.last_id, self.kinds, self.done = last_id, kinds, False
        self.last_sent = time.monotonic()
        # No run outlives the longest timeout; a stream never outlives that by much.
        self.deadline = self.last_sent + settings.AGENTRY_EXECUTION_MAX_TIMEOUT + STREAM_GRACE_SECONDS

    def take(self, events, finished: bool) -> list[bytes]:
        chunks = self.accept(events)
        if (finished and not events) or time.monotonic() > self.deadline:
            self.done = True
        return self.sent(chunks)

    def accept(self, events) -> list[bytes]:
        """The SSE of ``events``, which follow the last one sent."""
        chunks = []
        for event in events:
            self.last_id = event.id
            if self.kinds is None or event.kind in self.kinds:
                chunks.append(format_event(event.kind, event.data, event.id))
            if event.kind == "done":
                self.done = True
                break
        return chunks

    def follow(self, message: dict) -> tuple[list[bytes], bool]:
        """One live message as SSE, and whether the table must be read
        (a wake-up without content, or an event after a gap)."""
        if message["type"] == "delta":
            return [format_event("delta", {"node_id": message["node_id"], "content": message["content"]})], False
        if "event" not in message:
            return [], True
        if message["after"] == self.last_id:
            return self.accept([LiveEvent(message["id"], message["event"], message["data"])]), False
        return [], message["id"] > self.last_id  # a gap; an id already sent is a duplicate

    def sent(self, chunks: list[bytes]) -> list[bytes]:
        if chunks:
            self.last_sent = time.monotonic()
        elif time.monotonic() - self.last_sent > KEEPALIVE_SECONDS:
            chunks, self.last_sent = [b": keep-alive\n\n"], time.monotonic()
        return chunks


async def event_stream(execution_id, last_id: int, *, kinds: tuple[str, ...] | None = None):
    """Yield the execution's events after ``last_id`` as SSE, until ``done``
    (ASGI: woken by live announcements, deltas included)."""
    cursor, poll = _Cursor(last_id, kinds), settings.AGENTRY_SSE_POLL_SECONDS
    async with live.subscribe(execution_id) as inbox:  # before reading, so nothing falls between the two
        yield RETRY
        look = True
        while True:
            if look:
                for chunk in cursor.take(*await sync_to_async(events_after)(execution_id, cursor.last_id)):
                    yield chunk
                if cursor.done:
                    return
            message, chunks = await inbox.get(timeout=poll), []
            look = message is None  # quiet: the run may be another process's, without a shared layer
            while message is not None and not cursor.done:
                more, gap = cursor.follow(message)
                chunks += more
                look = look or gap
                message = inbox.get_nowait()
            for chunk in cursor.sent(chunks):
                yield chunk
            if cursor.done:
                return


def event_stream_sync(execution_id, last_id: int, *, kinds: tuple[str, ...] | None = None):
    """The same stream for a WSGI server (stored events only, found by polling)."""
    cursor, poll = _Cursor(last_id, kinds), settings.AGENTRY_SSE_POLL_SECONDS
    yield RETRY
    while True:
        yield from cursor.take(*events_after(execution_id, cursor.last_id))
        if cursor.done:
            return
        time.sleep(poll)
        yield from cursor.sent([])


def stream_response(request, execution_id, last_id: int = 0, *, kinds: tuple[str, ...] | None = None,
                    headers: dict | None = None) -> StreamingHttpResponse:
    """An SSE response that streams as the server allows: asynchronously under
    ASGI (daphne), from a plain generator under WSGI."""
    if isinstance(request._request, ASGIRequest):
        content = event_stream(execution_id, last_id, kinds=kinds)
    else:
        content = event_stream_sync(execution_id, last_id, kinds=kinds)
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    for name, value in (headers or {}).items():
        response[name] = value
    return response
