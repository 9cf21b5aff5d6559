"""core.asgi's handler on its own: where ``request_started`` is sent (in the
request's first trip to the database thread, not a trip of its own), that it
is sent once for every request, always before ``request_finished``, and that
the copy of Django's ``handle`` is of the version it was made from."""

import asyncio
import hashlib
import inspect
import threading

import django.core.handlers.base
import django.dispatch.dispatcher
import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, reset_queries
from django.dispatch import Signal
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import path

import core.asgi
from core import awaiting
from core.asgi import SharedThreadASGIHandler, sends_request_started
from core.awaiting import awaits_on_loop
from tests.trips import count_trips

pytestmark = pytest.mark.urls(__name__)

# Django 5.2's ASGIHandler.handle, which SharedThreadASGIHandler.handle copies.
DJANGO_HANDLE_SHA256 = "98faeb5bef800331e6a8002fbc96b30e4122a23438ae45a047190a531ea11323"

happened: list[tuple[str, int]] = []  # (what, the thread it happened on)


def sync_view(request):
    happened.append(("view", threading.get_ident()))
    return HttpResponse("sync")


async def async_view(request):
    happened.append(("async view", threading.get_ident()))
    return HttpResponse("async")


@sends_request_started
async def waits_for_ever(request):
    """Says it sends request_started itself, then never answers (nor sends it)."""
    await asyncio.Event().wait()
    return HttpResponse("late")


def not_found(request, exception):
    return HttpResponseNotFound("none")


handler404 = not_found
urlpatterns = [
    path("sync", sync_view),
    path("async", async_view),
    path("awaiting", awaits_on_loop(sync_view)),
    path("waits", waits_for_ever),
]


@pytest.fixture(autouse=True)
def signals():
    """Record request_started and request_finished, with the thread each was sent on.
    Django's database receivers are off meanwhile: these tests use no database, and
    on a thread left with a connection by an earlier test they would reach for it."""
    def started(**kwargs):
        happened.append(("request_started", threading.get_ident()))

    def finished(**kwargs):
        happened.append(("request_finished", threading.get_ident()))

    databases = [(request_started, reset_queries), (request_started, close_old_connections),
                 (request_finished, close_old_connections)]  # in the order Django connects them
    for signal, receiver in databases:
        signal.disconnect(receiver)
    happened.clear()
    request_started.connect(started, weak=False)
    request_finished.connect(finished, weak=False)
    yield
    request_started.disconnect(started)
    request_finished.disconnect(finished)
    for signal, receiver in databases:
        signal.connect(receiver)


@pytest.fixture
def trips(monkeypatch):
    return count_trips(monkeypatch, core.asgi, django.core.handlers.base, django.dispatch.dispatcher, awaiting)


def _serve(url: str, *, leave: bool = False) -> list[dict]:
    """What the handler sends for a GET of ``url``, served in-process; with
    ``leave``, the client disconnects once its request is read."""
    handler = SharedThreadASGIHandler()
    sent, read = [], []

    async def receive():
        if not read:
            read.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        if leave:
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": url, "raw_path": url.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    asyncio.run(handler(scope, receive, send))
    return sent


def _shared_thread() -> int:
    return asyncio.run(sync_to_async(threading.get_ident)())


def test_a_sync_view_sends_request_started_first_in_its_own_trip(trips):
    sent = _serve("/sync")

    assert sent[0]["status"] == 200 and sent[1]["body"] == b"sync"
    shared = _shared_thread()
    assert happened == [("request_started", shared), ("view", shared), ("request_finished", shared)]
    assert trips == ["sync_view", "_closed"]  # no trip of its own for request_started


def test_a_view_that_waits_on_the_loop_sends_it_in_its_first_trip(trips):
    sent = _serve("/awaiting")

    assert sent[0]["status"] == 200 and sent[1]["body"] == b"sync"
    shared = _shared_thread()
    assert happened == [("request_started", shared), ("view", shared), ("request_finished", shared)]
    assert trips == ["_viewed", "_closed"]


def test_any_other_async_view_gets_it_in_a_trip_before_it_runs(trips):
    sent = _serve("/async")

    assert sent[0]["status"] == 200 and sent[1]["body"] == b"async"
    shared = _shared_thread()
    assert happened[0] == ("request_started", shared) and happened[1][0] == "async view"
    assert happened[1][1] != shared and happened[2] == ("request_finished", shared)
    assert trips == ["send_request_started", "_closed"]


def test_a_request_that_reaches_no_view_sends_it_just_before_request_finished(trips):
    sent = _serve("/no-such-page")

    assert sent[0]["status"] == 404
    shared = _shared_thread()
    assert happened == [("request_started", shared), ("request_finished", shared)]
    assert trips[-1] == "_closed" and "sync_send" not in trips


def test_a_client_that_leaves_before_anything_sent_it_still_gets_both_in_order():
    sent = _serve("/waits", leave=True)

    assert sent == []  # no answer for a client that left
    assert [what for what, _thread in happened] == ["request_started", "request_finished"]


def test_a_request_is_started_once_however_many_times_it_is_asked(monkeypatch):
    started = Signal()  # this test's own, without Django's receivers, which would reach a database
    monkeypatch.setattr(core.asgi.signals, "request_started", started)
    senders = []
    started.connect(lambda sender, **kwargs: senders.append(sender), weak=False)

    class Request:
        scope = {"type": "http"}

    request = Request()
    setattr(request, core.asgi._STARTED_BY, SharedThreadASGIHandler)
    core.asgi.send_request_started(request)
    core.asgi.send_request_started(request)

    assert senders == [SharedThreadASGIHandler]


def test_the_copied_handle_is_of_the_django_version_it_was_made_from():
    # When this fails, Django's ASGIHandler.handle changed: bring the change into
    # SharedThreadASGIHandler.handle, then update the digest.
    source = inspect.getsource(ASGIHandler.handle)
    assert hashlib.sha256(source.encode()).hexdigest() == DJANGO_HANDLE_SHA256
