"""Retries and fallbacks across real clients and the fake server."""

import asyncio
import json
import socket
import time
from decimal import Decimal

import pytest

from executions.llm import (
    AllCandidatesFailed,
    Candidate,
    CompletionRequest,
    Message,
    ProviderSettings,
    Usage,
    close_clients,
    complete_with_fallbacks,
    cost_usd,
)
from executions.llm.retry import backoff_delay
from tests.fakes.llm_server import Reply

REQUEST = CompletionRequest(model="ignored", messages=(Message("user", "What is the capital of France?"),))
FAST = {"backoff_base": 0.01, "backoff_max": 0.05}


@pytest.fixture
def openai_provider(server):
    return ProviderSettings(name="oai", kind="openai", base_url=server.url + "/v1", api_key="sk-o", timeout_seconds=5)


@pytest.fixture
def anthropic_provider(server):
    return ProviderSettings(name="ant", kind="anthropic", base_url=server.url, api_key="sk-a", timeout_seconds=5)


def run(candidates, request=REQUEST, **kwargs):
    return asyncio.run(complete_with_fallbacks(candidates, request, **{**FAST, **kwargs}))


def failure(candidates, **kwargs) -> AllCandidatesFailed:
    with pytest.raises(AllCandidatesFailed) as caught:
        run(candidates, **kwargs)
    return caught.value


def seen(server) -> list[tuple[str, str]]:
    return [(r.path, r.model) for r in server.requests]


def summary(attempts) -> list[tuple]:
    return [(a.provider, a.model, a.attempt, a.ok, a.status) for a in attempts]


def test_first_candidate_answers(server, openai_provider):
    server.script("gpt-good", [Reply(text="Paris", usage=(10, 2))])

    completion, used, attempts = run([Candidate(openai_provider, "gpt-good")])

    assert completion.text == "Paris" and completion.usage == Usage(10, 2)
    assert used == Candidate(openai_provider, "gpt-good")
    assert summary(attempts) == [("oai", "gpt-good", 1, True, None)]
    assert seen(server) == [("/v1/chat/completions", "gpt-good")]  # the candidate's model, not the request's


def test_429_waits_for_the_retry_after_then_succeeds(server, openai_provider):
    server.script("gpt-busy", [Reply(status=429, retry_after=1), Reply(text="Paris")])

    completion, _used, attempts = run([Candidate(openai_provider, "gpt-busy")])

    assert completion.text == "Paris"
    assert summary(attempts) == [("oai", "gpt-busy", 1, False, 429), ("oai", "gpt-busy", 2, True, None)]
    assert attempts[0].retry_after == 1.0
    first, second = server.requests
    assert second.received_at - first.received_at >= 1.0


def test_500_is_retried_then_falls_back_to_the_next_candidate(server, openai_provider, anthropic_provider):
    server.script("gpt-broken", [Reply(status=500)] * 10)
    server.script("claude-ok", [Reply(text="Paris")])
    candidates = [Candidate(openai_provider, "gpt-broken"), Candidate(anthropic_provider, "claude-ok")]

    completion, used, attempts = run(candidates, retries=2)

    assert completion.text == "Paris"
    assert used.model == "claude-ok"
    assert summary(attempts) == [
        ("oai", "gpt-broken", 1, False, 500), ("oai", "gpt-broken", 2, False, 500),
        ("oai", "gpt-broken", 3, False, 500), ("ant", "claude-ok", 1, True, None)]
    assert seen(server) == [("/v1/chat/completions", "gpt-broken")] * 3 + [("/v1/messages", "claude-ok")]


def test_non_retryable_400_goes_straight_to_the_fallback(server, openai_provider, anthropic_provider):
    server.script("gpt-bad-request", [Reply(status=400, error="unknown parameter")])
    candidates = [Candidate(openai_provider, "gpt-bad-request"), Candidate(anthropic_provider, "claude-ok")]

    completion, used, attempts = run(candidates, retries=5)

    assert completion.text == "echo: What is the capital of France?"
    assert summary(attempts) == [("oai", "gpt-bad-request", 1, False, 400), ("ant", "claude-ok", 1, True, None)]
    assert "unknown parameter" in attempts[0].error
    assert seen(server) == [("/v1/chat/completions", "gpt-bad-request"), ("/v1/messages", "claude-ok")]


def test_all_candidates_failing_raises_with_every_attempt(server, openai_provider, anthropic_provider):
    server.script("gpt-down", [Reply(status=503)] * 3)
    server.script("claude-down", [Reply(status=500)] * 2 + [Reply(status=529, error="overloaded")])
    candidates = [Candidate(openai_provider, "gpt-down"), Candidate(anthropic_provider, "claude-down")]

    error = failure(candidates, retries=2)

    assert summary(error.attempts) == [
        ("oai", "gpt-down", 1, False, 503), ("oai", "gpt-down", 2, False, 503), ("oai", "gpt-down", 3, False, 503),
        ("ant", "claude-down", 1, False, 500), ("ant", "claude-down", 2, False, 500),
        ("ant", "claude-down", 3, False, 529)]
    assert "overloaded" in str(error) and error.status == 529
    assert len(server.requests) == 6
    json.dumps([a.to_dict() for a in error.attempts])  # the trace stores them as JSON
    assert set(error.attempts[0].to_dict()) == {
        "provider", "model", "attempt", "ok", "status", "error", "retry_after", "duration_ms"}


def test_connection_refused_is_retried_then_falls_back(server, openai_provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = ProviderSettings(name="gone", kind="openai", base_url=f"http://127.0.0.1:{port}/v1", timeout_seconds=2)

    completion, used, attempts = run([Candidate(gone, "gpt-x"), Candidate(openai_provider, "gpt-ok")], retries=1)

    assert completion.text.startswith("echo: ")
    assert summary(attempts) == [("gone", "gpt-x", 1, False, None), ("gone", "gpt-x", 2, False, None),
                                 ("oai", "gpt-ok", 1, True, None)]
    assert "connection failed" in attempts[0].error


def test_timeout_is_retried_then_falls_back(server, anthropic_provider):
    impatient = ProviderSettings(name="impatient", kind="anthropic", base_url=server.url, timeout_seconds=0.2)
    server.script("claude-slow", [Reply(delay=1.0)] * 2)

    completion, _used, attempts = run([Candidate(impatient, "claude-slow"), Candidate(anthropic_provider, "claude-ok")],
                                      retries=1)

    assert completion.text.startswith("echo: ")
    assert [(a.model, a.ok) for a in attempts] == [("claude-slow", False), ("claude-slow", False), ("claude-ok", True)]
    assert "timed out" in attempts[0].error


def test_streaming_passes_deltas_and_retries_a_failed_stream(server, openai_provider):
    server.script("gpt-flaky", [Reply(status=502), Reply(text="The capital is Paris.")])
    deltas = []

    async def on_delta(text):
        deltas.append(text)

    completion, _used, attempts = run([Candidate(openai_provider, "gpt-flaky")], on_delta=on_delta)

    assert deltas == ["The ", "capital ", "is ", "Paris."]
    assert completion.text == "The capital is Paris."
    assert [a.ok for a in attempts] == [False, True]
    assert all(r.body["stream"] for r in server.requests)


def test_clients_passed_in_are_reused_and_left_open(server, openai_provider):
    clients = {}

    async def twice():
        try:
            await complete_with_fallbacks([Candidate(openai_provider, "a")], REQUEST, clients=clients)
            first = clients["oai"]
            await complete_with_fallbacks([Candidate(openai_provider, "b")], REQUEST, clients=clients)
            assert clients["oai"] is first
            return list(clients)
        finally:
            await close_clients(clients)

    assert asyncio.run(twice()) == ["oai"]
    assert clients == {}


def test_retries_and_backoff_come_from_settings(server, settings, openai_provider):
    settings.AGENTRY_LLM_RETRIES = 0
    settings.AGENTRY_LLM_BACKOFF_BASE = 0.0
    server.script("gpt-down", [Reply(status=500)] * 5)

    error = failure([Candidate(openai_provider, "gpt-down")], backoff_base=None)

    assert len(error.attempts) == 1

    settings.AGENTRY_LLM_RETRIES = 3
    started = time.monotonic()
    error = asyncio.run(_failing(openai_provider))
    assert len(error.attempts) == 4
    assert time.monotonic() - started < 2  # a zero backoff base means no waiting


async def _failing(provider):
    try:
        await complete_with_fallbacks([Candidate(provider, "gpt-down")], REQUEST)
    except AllCandidatesFailed as exc:
        return exc
    raise AssertionError("expected a failure")


def test_a_long_retry_after_is_capped_at_a_minute(server, openai_provider, monkeypatch):
    server.script("gpt-busy", [Reply(status=429, retry_after=3600), Reply(text="ok")])
    waits = []

    async def no_wait(seconds):
        waits.append(seconds)

    monkeypatch.setattr("executions.llm.retry.sleep", no_wait)  # this module's waits, not every task's

    completion, _used, _attempts = run([Candidate(openai_provider, "gpt-busy")])

    assert completion.text == "ok"
    assert waits == [60.0]


def test_no_candidates():
    error = failure([])

    assert error.attempts == [] and "no model" in str(error)


def test_backoff_is_full_jitter_under_the_cap():
    for n in range(8):
        delay = backoff_delay(n, base=0.5, cap=8.0)
        assert 0 <= delay <= min(8.0, 0.5 * 2 ** n)


def test_cost_from_prices_per_million_tokens():
    provider = ProviderSettings(name="p", kind="openai", prices={"gpt-x": (2.5, 10.0), "gpt-y": {
        "input_per_million": 0.15, "output_per_million": 0.6}})

    assert cost_usd(provider, "gpt-x", Usage(1000, 500)) == Decimal("0.00750000")
    assert cost_usd(provider, "gpt-y", Usage(3, 1)) == Decimal("0.00000105")
    assert cost_usd(provider, "unpriced", Usage(1000, 1000)) == Decimal("0E-8")
    assert cost_usd(provider, "gpt-x", Usage(1000, 500)).as_tuple().exponent == -8


def test_a_provider_of_unknown_kind_is_a_failed_attempt_not_a_crash(server, openai_provider):
    broken = ProviderSettings(name="broken", kind="gemini")

    completion, used, attempts = run([Candidate(broken, "g-1"), Candidate(openai_provider, "gpt-ok")])

    assert used.model == "gpt-ok"
    assert summary(attempts) == [("broken", "g-1", 1, False, None), ("oai", "gpt-ok", 1, True, None)]
