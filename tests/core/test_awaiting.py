"""core.awaiting on its own: what passes through, what an answer is given,
what a view keeps, and what happens when the client leaves mid-wait."""

import asyncio
import logging

from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse
from django.template import engines
from django.template.response import SimpleTemplateResponse
from django.test import AsyncRequestFactory, RequestFactory
from django.views.decorators.csrf import csrf_exempt

from core.asgi import rendered
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


def test_a_work_that_answers_in_its_last_trip_is_the_answer_unless_it_raises():
    answered = []

    def answer(done):
        answered.append(done)
        try:
            return HttpResponse(done.result())
        except ValueError as exc:
            return HttpResponse(f"error {exc}", status=502)

    async def builds_it():
        return HttpResponse("built by the work", status=201)

    async def fails():
        raise ValueError("no luck")

    ok = asyncio.run(awaits_on_loop(lambda request: Awaiting(builds_it, answer, in_last_trip=True))(_request()))
    assert (ok.status_code, ok.content, answered) == (201, b"built by the work", [])

    failed = asyncio.run(awaits_on_loop(lambda request: Awaiting(fails, answer, in_last_trip=True))(_request()))
    assert (failed.status_code, failed.content, len(answered)) == (502, b"error no luck", 1)


def _template_response(text):
    return SimpleTemplateResponse(engines["django"].from_string(text))


def test_rendered_renders_once_and_leaves_django_nothing_to_take_to_the_thread():
    response = _template_response("hello {{ 1|add:1 }}")

    same = rendered(response)

    assert same is response and response.is_rendered and response.content == b"hello 2"
    assert iscoroutinefunction(response.render)  # Django's async handler awaits it instead of a trip
    assert asyncio.run(response.render()) is response
    assert rendered(response) is response  # again: nothing to do
    plain = HttpResponse("plain")
    assert rendered(plain) is plain and not hasattr(plain, "render")


def test_an_answer_is_rendered_in_its_trip_only_under_an_async_handler():
    def view(request):
        return _template_response("late")

    under_asgi = asyncio.run(awaits_on_loop(view)(AsyncRequestFactory().get("/somewhere")))
    under_wsgi = asyncio.run(awaits_on_loop(view)(_request()))

    assert under_asgi.is_rendered and under_asgi.content == b"late"
    # A sync handler renders it itself, calling render(): it must stay the template response's own.
    assert not under_wsgi.is_rendered and not iscoroutinefunction(under_wsgi.render)
