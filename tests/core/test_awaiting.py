"""core.awaiting on its own: what passes through, what an answer is given,
what a view keeps, and what happens when the client leaves mid-wait."""

import asyncio
import logging

from django.http import HttpResponse
from django.test import RequestFactory
from django.views.decorators.csrf import csrf_exempt

from core.awaiting import Awaiting, awaits_on_loop


def _request():
    return RequestFactory().post("/somewhere")


def test_a_plain_answer_passes_as_it_is():
    view = awaits_on_loop(lambda request: HttpResponse("plain", status=201))

    response = asyncio.run(view(_request()))

    assert (response.status_code, response.content) == (201, b"plain")


def test_the_answer_is_built_from_the_work_outcome_value_or_error():
    async def double(n):
        await asyncio.sleep(0)
        return n * 2

    async def fail():
        raise ValueError("no luck")

    def answer(done):
        try:
            return HttpResponse(f"value {done.result()}")
        except ValueError as exc:
            return HttpResponse(f"error {exc}", status=502)

    def view(request, n):
        return Awaiting((lambda: double(n)) if n else fail, answer)

    wrapped = awaits_on_loop(view)

    assert asyncio.run(wrapped(_request(), 21)).content == b"value 42"
    failed = asyncio.run(wrapped(_request(), 0))
    assert (failed.status_code, failed.content) == (502, b"error no luck")


def test_the_view_keeps_what_routing_schema_and_csrf_read():
    @csrf_exempt
    def view(request):
        return HttpResponse()

    view.cls, view.actions = object, {"post": "invoke"}
    wrapped = awaits_on_loop(view)

    assert asyncio.iscoroutinefunction(wrapped)
    assert wrapped.csrf_exempt is True
    assert (wrapped.cls, wrapped.actions, wrapped.__name__) == (object, {"post": "invoke"}, "view")


def test_a_client_that_leaves_neither_stops_the_work_nor_hides_its_failure(caplog):
    async def scenario():
        started, release, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def work():
            started.set()
            await release.wait()
            ended.set()
            raise RuntimeError("the database went away")

        view = awaits_on_loop(lambda request: Awaiting(work, lambda done: HttpResponse(done.result())))
        request_task = asyncio.create_task(view(_request()))
        await started.wait()
        request_task.cancel()  # what Django's ASGI handler does when the client disconnects
        await asyncio.gather(request_task, return_exceptions=True)
        assert request_task.cancelled()

        release.set()
        await asyncio.wait_for(ended.wait(), 5)
        for _ in range(20):  # the answer's hop back to the thread, then the failure's log line
            if any(r.levelno == logging.ERROR for r in caplog.records):
                break
            await asyncio.sleep(0.05)

    with caplog.at_level(logging.ERROR, logger="agentry"):
        asyncio.run(scenario())

    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "A request's answer failed after its client left"
    assert "the database went away" in str(record.exc_info[1])
