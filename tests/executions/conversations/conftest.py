"""Chat against the real ASGI server and the fake LLM server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from accounts.actor import Actor
from agents.services.runtime import agent_start
from executions.conversations import journal
from executions.conversations.loop import turn_loop
from executions.conversations.models import Message, Thread

CHAT_MODEL = {"provider": "fake", "model": "gpt-main"}


@pytest.fixture(autouse=True)
def _fast_chat(settings):
    settings.AGENTRY_CHAT_FLUSH_SECONDS = 0.05
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 0.05
    settings.AGENTRY_SSE_POLL_SECONDS = 0.05
    settings.AGENTRY_CHAT_QUIET_SECONDS = 0.2
    settings.AGENTRY_LLM_BACKOFF_BASE = 0.01
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "localhost", "::1"]


@pytest.fixture
def server_settles():
    """After the test, wait until the server has finished what the test
    started (drivers storing their last events, streams closing): the
    database is emptied next, and must not be written to meanwhile.  Not
    autouse: it must be set up after the database fixture, so that its
    teardown runs first."""
    yield
    deadline = time.monotonic() + 15
    while (turn_loop.pending() or journal.followers()) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def make_chat_agent(make_agent, llm, server_settles):
    def make(owner, *, config=None, start=True, **fields):
        agent = make_agent(owner, config={"model": CHAT_MODEL, **(config or {})}, **fields)
        if start:
            agent = agent_start(agent=agent, actor=Actor(user=owner))
        return agent
    return make


@pytest.fixture
def chat_agent(transactional_db, make_chat_agent, user):
    return make_chat_agent(user, name="Chatty")


class Chat:
    """An HTTP client for one user against the live ASGI server."""

    def __init__(self, base: str, token: str, agent):
        self.base, self.agent = base, agent
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=base, headers=self.headers, timeout=30)

    def path(self, rest: str) -> str:
        return f"/api/v1/agents/{self.agent.slug}{rest}"

    def thread(self, **body) -> dict:
        response = self.client.post(self.path("/threads"), json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def send(self, thread_id, message: str, *, on_event=None) -> list[dict]:
        """POST /chat and read the stream to its end: the parsed events."""
        with self.client.stream("POST", self.path("/chat"), json={"thread_id": str(thread_id),
                                                                   "message": message}) as response:
            assert response.status_code == 200, response.read()
            return read_stream(response, on_event=on_event)


def read_stream(response, *, on_event=None) -> list[dict]:
    """SSE frames as ``{"id", "event", "data"}``; ``{"done": True}`` for [DONE]."""
    events, current = [], {}
    for line in response.iter_lines():
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("data: "):
            payload = line[6:]
            if payload == "[DONE]":
                events.append({"done": True})
                return events
            current.update(json.loads(payload))
        elif line == "" and current:
            events.append(current)
            if on_event is not None and on_event(current) is False:
                return events
            current = {}
    return events


def deltas(events) -> str:
    return "".join(e["data"]["delta"]["content"] for e in events if e.get("event") == "thread.message.delta")


def wait_idle(thread_id, timeout=10.0) -> Thread:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        thread = Thread.objects.get(pk=thread_id)
        if not thread.driver and not Message.objects.filter(thread=thread, status="pending").exists():
            return thread
        time.sleep(0.02)
    raise AssertionError("the thread's turns did not finish")


@pytest.fixture
def chat(asgi_server, chat_agent, user, make_token):
    return Chat(asgi_server.url, make_token(user), chat_agent)
