"""Chat turns as Server-Sent Events (seed 004): each event is
``id: <seq>`` + ``data: {"event": "<name>", "data": {...}}``; a stream ends
with ``data: [DONE]``.  The ``id`` is the thread's event seq, so a client
that drops resumes with ``Last-Event-ID`` on ``/threads/{thread}/stream``."""

from __future__ import annotations

import json
import time
from contextlib import aclosing

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

from executions.conversations import journal as events
from executions.conversations.driver import driver_ensure
from executions.conversations.models import Message, MessageStatus
from executions.conversations.selectors import thread_busy, thread_quiet

KEEPALIVE_SECONDS = 15
RETRY = b"retry: 1000\n\n"
DONE = b"data: [DONE]\n\n"


def frame(record: dict) -> bytes:
    payload = json.dumps({"event": record["event"], "data": record["data"]}, separators=(",", ":"), default=str)
    return f"id: {record['seq']}\ndata: {payload}\n\n".encode()


async def turn_stream(thread_id, message_id, after: int):
    """The events of one turn (the one answering ``message_id``), then [DONE]."""
    turn = str(message_id)

    def idle() -> bool:
        status = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        if status is None or status == MessageStatus.CANCELLED:
            return True  # dropped (interrupted while queued) or deleted with its thread
        if status == MessageStatus.PENDING and not thread_busy(thread_id):
            driver_ensure(thread_id)  # its driver died: answer it from here
        return False

    yield RETRY
    last_sent = time.monotonic()
    async with aclosing(events.follow(thread_id, after, idle=idle)) as records:
        async for record in records:
            if record is None:
                if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    last_sent = time.monotonic()
                    yield b": keep-alive\n\n"
                continue
            if record["data"].get("message_id") != turn:
                continue
            last_sent = time.monotonic()
            yield frame(record)
            if record["event"] in events.TERMINAL:
                break
    yield DONE


async def thread_stream(thread_id, after: int):
    """Every event of the thread after ``after``, live until no turn runs or
    waits any more, then [DONE]: how a client that dropped catches up."""
    yield RETRY
    last_sent = time.monotonic()
    async with aclosing(events.follow(thread_id, after, idle=lambda: thread_quiet(thread_id))) as records:
        async for record in records:
            if record is None:
                if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    last_sent = time.monotonic()
                    yield b": keep-alive\n\n"
                continue
            last_sent = time.monotonic()
            yield frame(record)
            if record["event"] in events.TERMINAL and await sync_to_async(thread_quiet)(thread_id):
                break
    yield DONE


def sse_response(content) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
