"""Django's middleware on the event loop (core.inline_middleware), served by
the real ASGI application: what Django's own classes do still happens (headers,
CSRF, sessions, messages), and a plain request crosses no thread for them."""

import re

import httpx
import pytest
from django.utils import deprecation

from accounts.models import ApiToken
from core import inline_middleware
from tests.trips import count_trips

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hops(monkeypatch):
    """Counts the middleware's trips to the sync thread (this module's and
    Django's MiddlewareMixin's)."""
    return count_trips(monkeypatch, inline_middleware, deprecation,
                       name=lambda func: getattr(func, "__qualname__", repr(func)))


@pytest.fixture
def browser(asgi_server):
    with httpx.Client(base_url=asgi_server.url) as client:
        yield client


def _csrf_token(page: httpx.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _log_in(browser, user) -> httpx.Response:
    form = browser.get("/login/")
    return browser.post("/login/", data={"username": user.username, "password": "pw-123456789",
                                         "csrfmiddlewaretoken": _csrf_token(form)})


def test_an_api_read_keeps_the_security_headers_and_crosses_no_thread_for_middleware(
        browser, user, make_token, hops):
    raw = make_token(user)

    response = browser.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 200
    assert response.json()["data"]["username"] == user.username
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "csrftoken" not in response.cookies and "sessionid" not in response.cookies
    assert hops == []


def test_a_login_saves_its_session_on_the_thread_and_the_session_then_signs_in(browser, user, hops):
    response = _log_in(browser, user)

    assert response.status_code == 302
    assert "sessionid" in browser.cookies
    assert any("SessionMiddleware.process_response" in hop for hop in hops)
    assert any("CsrfViewMiddleware.process_view" in hop for hop in hops)  # a form POST is checked there
    assert browser.get("/agents/").status_code == 200


def test_a_form_post_without_its_csrf_token_is_refused(browser, user):
    browser.get("/login/")

    response = browser.post("/login/", data={"username": user.username, "password": "pw-123456789"})

    assert response.status_code == 403
    assert "sessionid" not in browser.cookies


def test_a_page_read_needs_no_thread_for_a_session_it_did_not_change(browser, user, hops):
    _log_in(browser, user)
    hops.clear()

    assert browser.get("/agents/").status_code == 200
    assert hops == []


def test_a_message_added_in_one_request_is_shown_by_the_next(browser, user, make_token, hops):
    make_token(user, name="ci")
    token = ApiToken.objects.get(user=user, name="ci")
    _log_in(browser, user)
    page = browser.get("/tokens/")
    hops.clear()

    response = browser.post(f"/tokens/{token.pk}/revoke/", data={"csrfmiddlewaretoken": _csrf_token(page)})

    assert response.status_code == 302
    assert any("MessageMiddleware.process_response" in hop for hop in hops)
    shown = browser.get(response.headers["Location"])
    assert "Token “ci” revoked" in shown.text
    assert "Token “ci” revoked" not in browser.get("/tokens/").text  # shown once
