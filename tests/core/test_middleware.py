"""Work deferred until the response is sent (``core.middleware``)."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import RequestFactory

from core.middleware import AfterResponseMiddleware, run_after_response


@pytest.fixture(autouse=True)
def _no_database():
    """A closed response sends ``request_finished``; these tests use no database."""
    request_finished.disconnect(close_old_connections)
    yield
    request_finished.connect(close_old_connections)


def test_deferred_callback_runs_when_the_response_closes_not_before():
    # given a view that defers a callback
    calls = []

    def view(request):
        run_after_response(request, lambda: calls.append("ran"))
        return HttpResponse("ok")

    # when the middleware has produced the response
    response = AfterResponseMiddleware(view)(RequestFactory().get("/"))

    # then nothing ran until the server closed the response, and then it ran once
    assert response.status_code == 200 and calls == []
    response.close()
    assert calls == ["ran"]
    response.close()
    assert calls == ["ran"]


def test_deferred_callbacks_run_in_order_and_a_failure_does_not_stop_the_others():
    calls = []

    def fail():
        raise RuntimeError("boom")

    def view(request):
        run_after_response(request, lambda: calls.append(1))
        run_after_response(request, fail)
        run_after_response(request, lambda: calls.append(2))
        return HttpResponse("ok")

    response = AfterResponseMiddleware(view)(RequestFactory().get("/"))
    response.close()
    assert calls == [1, 2]


def test_without_the_middleware_the_callback_runs_at_once():
    calls = []
    run_after_response(RequestFactory().get("/"), lambda: calls.append("ran"))
    assert calls == ["ran"]
