"""Fixtures for running agents against the fake LLM server."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from accounts.actor import Actor
from agents.services.providers import provider_create

PRICES = {"input_per_million": 2.0, "output_per_million": 8.0}


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.AGENTRY_LLM_BACKOFF_BASE = 0.01
    settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 0.05
    settings.AGENTRY_SSE_POLL_SECONDS = 0.05
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "localhost", "::1"]  # where the fake LLM server listens


@pytest.fixture
def server(fresh_fake_llm):
    """The fake LLM server, fresh for this test."""
    return fresh_fake_llm


@pytest.fixture
def staff(make_user):
    return make_user("root", is_staff=True)


@pytest.fixture
def llm(fresh_fake_llm, staff):
    """The fake server as two providers: ``fake`` (OpenAI wire format) and
    ``fake-anthropic``, each with priced models."""
    actor = Actor(user=staff)
    models = [{"name": name, **PRICES} for name in ("gpt-main", "gpt-backup", "gpt-slow", "gpt-a", "gpt-b")]
    provider_create(actor=actor, name="fake", kind="openai", base_url=fresh_fake_llm.url + "/v1",
                    api_key="sk-test-secret-123", models=models)
    provider_create(actor=actor, name="fake-anthropic", kind="anthropic", base_url=fresh_fake_llm.url,
                    api_key="sk-ant-secret-456", models=[{"name": "claude-main", **PRICES}])
    return fresh_fake_llm


def pipeline(*nodes, edges):
    return {"nodes": list(nodes), "edges": [{"id": f"e{i}", "source": s, "target": t, **extra}
                                            for i, (s, t, *rest) in enumerate(edges, 1)
                                            for extra in [rest[0] if rest else {}]]}


def input_node(schema=None):
    return {"id": "input", "type": "input", "data": {"schema": schema or {
        "type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}}


def llm_node(node_id="llm", model="gpt-main", provider="fake", **data):
    return {"id": node_id, "type": "llm_call", "data": {
        "provider": provider, "model": model, "user_prompt_template": "{{input.message}}", **data}}


def output_node(mapping="{{nodes.llm.output}}", node_id="output"):
    return {"id": node_id, "type": "output", "data": {"mapping": mapping}}


def invoke(client, agent, body=None, **headers):
    """``POST /agents/{agent}/invoke`` as ``client`` (an empty input when no body is given)."""
    return client.post(f"/api/v1/agents/{agent.slug}/invoke", {"input": {}} if body is None else body,
                       format="json", **headers)


THREE_NODES = pipeline(input_node(), llm_node(), output_node(), edges=[("input", "llm"), ("llm", "output")])


class asgi_client:
    """Django's ASGI test client, called synchronously: streams are served
    asynchronously, as under daphne."""

    def __init__(self, token):
        self.client = AsyncClient()
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path, data, **kwargs):
        return async_to_sync(self.client.post)(path, data, headers=self.headers, **kwargs)

    def get(self, path):
        return async_to_sync(self.client.get)(path, headers=self.headers)


def read_sse(response) -> list[dict]:
    """Consume a streaming response and parse its Server-Sent Events."""
    async def collect():
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk)
        return b"".join(chunks)

    raw = async_to_sync(collect)() if response.is_async else b"".join(response.streaming_content)
    return parse_sse(raw.decode())


def parse_sse(text: str) -> list[dict]:
    events = []
    for block in text.split("\n\n"):
        event = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            event[name] = value
        if "data" in event or "event" in event:
            events.append(event)
    return events

