"""Browser tests: Debian's Chromium, headless, driven by Playwright against the
real ASGI application (uvicorn in a thread of the test process, so it shares
the test database), a real Celery worker and the fake LLM server.

Every test here is marked ``browser``; ``make test`` leaves them out and
``make test-browser`` (which ``.ci/run`` calls) installs Chromium and runs
them.  Each test's last page is saved as a screenshot under
``tests/browser/screenshots/`` (git-ignored), and ``axe_check(page)`` fails on
any serious or critical accessibility violation that axe-core finds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import sync_playwright

from accounts.actor import Actor
from agents.services.providers import provider_create

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
AXE = HERE / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("AGENTRY_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach
# Google's hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "pw-123456789"
MODELS = [{"name": name, "input_per_million": 2.0, "output_per_million": 8.0} for name in ("gpt-main", "gpt-backup")]


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test-browser` installs Debian's chromium package")
    # Playwright's sync API keeps an event loop in this thread; the test's own
    # ORM calls are still synchronous code, which Django must be told.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def console_settings(settings):
    settings.AGENTRY_CHAT_FLUSH_SECONDS = 0.05
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 0.05
    settings.AGENTRY_SSE_POLL_SECONDS = 0.05
    settings.AGENTRY_LLM_BACKOFF_BASE = 0.01
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "localhost", "::1"]
    return settings


class Console:
    """The live console: its URL, pages logged in as a user, the fake LLM."""

    def __init__(self, server, browser, llm, worker, request):
        self.server, self.browser, self.llm, self.worker = server, browser, llm, worker
        self.request = request
        self.pages = []

    def url(self, path: str = "/") -> str:
        return self.server.url + path

    def page(self, user=None, *, width: int = 1280, height: int = 900):
        """A new browser page (its own cookies), logged in as ``user`` if given."""
        context = self.browser.new_context(viewport={"width": width, "height": height}, base_url=self.server.url)
        context.set_default_timeout(15_000)
        if user is not None:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_for(user),
                                  "url": self.server.url}])
        page = context.new_page()
        self.pages.append(page)
        return page

    def screenshot(self, page, name: str | None = None) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = name or re.sub(r"[^\w.-]+", "_", self.request.node.name)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def session_for(user) -> str:
    """A logged-in session for ``user``, as Django's login() would store it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


@pytest.fixture
def fake_provider(fresh_fake_llm, make_user):
    """The fake LLM server as provider ``fake`` (OpenAI wire format)."""
    staff = make_user("installer", is_staff=True)
    provider_create(actor=Actor(user=staff), name="fake", kind="openai", base_url=fresh_fake_llm.url + "/v1",
                    api_key="sk-test-secret-123", models=MODELS)
    return fresh_fake_llm


@pytest.fixture
def console(transactional_db, console_settings, asgi_server, browser, fake_provider, celery_worker, request):
    """The whole product, live: the ASGI app, a worker, the fake LLM, Chromium.
    Each test's last open page is saved as its screenshot."""
    live = Console(asgi_server, browser, fake_provider, celery_worker, request)
    yield live
    if live.pages and not live.pages[-1].is_closed():
        live.screenshot(live.pages[-1])
    for page in live.pages:
        page.context.close()


def axe_check(page) -> None:
    """Run axe-core on ``page``; fail listing every serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, "axe-core: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in bad)


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the sign-in form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
