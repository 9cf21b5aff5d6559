"""The fake LLM server, driven by the official SDKs: if they accept its
answers, our clients are tested against something real enough."""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx
import httpx2
import openai
import pytest

from tests.fakes.llm_server import FakeLLMServer, Reply

ROOT = Path(__file__).resolve().parents[2]
USER_HI = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def server(fresh_fake_llm):
    return fresh_fake_llm


def openai_client(server, **kwargs):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0, **kwargs)


def anthropic_client(server, **kwargs):
    return anthropic.Anthropic(base_url=server.url, api_key="ak-test", max_retries=0, **kwargs)


# OpenAI chat completions

def test_openai_default_reply_echoes_the_last_user_message(server):
    # when
    response = openai_client(server).chat.completions.create(model="gpt-test", messages=[
        {"role": "system", "content": "Be brief."}, *USER_HI])

    # then
    text = "echo: What is the capital of France?"
    assert response.choices[0].message.content == text
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == len("Be brief.\nWhat is the capital of France?") // 4 + 1
    assert response.usage.completion_tokens == len(text) // 4 + 1
    [recorded] = server.requests
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["authorization"] == "Bearer sk-test"
    assert recorded.body["model"] == "gpt-test"
    assert recorded.model == "gpt-test" and recorded.api == "openai"


def test_openai_path_without_v1_is_served(server):
    client = openai.OpenAI(base_url=server.url, api_key="sk-test", max_retries=0)

    response = client.chat.completions.create(model="m", messages=USER_HI)

    assert response.choices[0].message.content.startswith("echo: ")
    assert server.requests[0].path == "/chat/completions"


def test_openai_scripted_text_and_usage(server):
    server.enqueue(Reply(text="Paris", usage=(12, 3)))

    response = openai_client(server).chat.completions.create(model="m", messages=USER_HI)

    assert response.choices[0].message.content == "Paris"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (12, 3, 15)


def test_openai_stream_sends_deltas_then_usage_when_asked(server):
    server.enqueue(Reply(text="The capital is Paris.", usage=(7, 5)))

    chunks = list(openai_client(server).chat.completions.create(
        model="m", messages=USER_HI, stream=True, stream_options={"include_usage": True}))

    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == "The capital is Paris."
    assert len(deltas) == 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 7 and chunks[-1].usage.completion_tokens == 5


def test_openai_stream_without_include_usage_has_no_usage_chunk(server):
    chunks = list(openai_client(server).chat.completions.create(model="m", messages=USER_HI, stream=True))

    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_openai_tool_calls_plain(server):
    server.enqueue(Reply(tool_calls=[("get_weather", {"city": "Paris"})]))

    response = openai_client(server).chat.completions.create(model="m", messages=USER_HI)

    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id


def test_openai_tool_calls_streamed_as_argument_deltas(server):
    server.enqueue(Reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {"zone": "CET"}, "call_x")]))

    chunks = list(openai_client(server).chat.completions.create(model="m", messages=USER_HI, stream=True))

    calls: dict[int, dict] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            call["id"] = delta.id or call["id"]
            call["name"] = delta.function.name or call["name"]
            call["arguments"] += delta.function.arguments or ""
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get_weather", {"city": "Paris"}), ("get_time", {"zone": "CET"})]
    assert calls[1]["id"] == "call_x"
    assert sum(1 for c in chunks if c.choices[0].delta.tool_calls) > 2  # arguments arrive in pieces
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_async_openai_concurrent_requests_follow_their_model_scripts(server):
    server.script("model-a", [Reply(text=f"a{i}", delay=1.0) for i in range(4)])
    server.script("model-b", [Reply(text=f"b{i}", delay=1.0) for i in range(4)])

    async def run():
        async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="sk", max_retries=0) as client:
            async def ask(model):
                response = await client.chat.completions.create(model=model, messages=USER_HI)
                return response.choices[0].message.content
            return await asyncio.gather(*(ask(m) for m in ["model-a", "model-b"] * 4))

    answers = asyncio.run(run())

    assert sorted(a for a in answers if a.startswith("a")) == ["a0", "a1", "a2", "a3"]
    assert sorted(a for a in answers if a.startswith("b")) == ["b0", "b1", "b2", "b3"]
    received = [r.received_at for r in server.requests]
    assert max(received) - min(received) < 1.0  # all taken in while the first answer was still pending


def test_model_script_is_used_before_the_global_queue(server):
    server.enqueue(Reply(text="from the queue"))
    server.script("scripted", [Reply(text="from the script")])
    client = openai_client(server)

    first = client.chat.completions.create(model="scripted", messages=USER_HI)
    second = client.chat.completions.create(model="scripted", messages=USER_HI)
    third = client.chat.completions.create(model="scripted", messages=USER_HI)

    assert [r.choices[0].message.content for r in (first, second, third)] == [
        "from the script", "from the queue", "echo: What is the capital of France?"]


# Anthropic messages

def test_anthropic_default_reply_and_usage(server):
    message = anthropic_client(server).messages.create(
        model="claude-test", max_tokens=100, system="Be brief.", messages=USER_HI)

    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: What is the capital of France?"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == len("Be brief.\nWhat is the capital of France?") // 4 + 1
    [recorded] = server.requests
    assert recorded.path == "/v1/messages"
    assert recorded.body["system"] == "Be brief."
    # SDK 2.x sends the key as a bearer token (API version 2026-10-21).
    assert recorded.headers["authorization"] == "Bearer ak-test"


def test_anthropic_stream_follows_the_real_event_sequence(server):
    server.enqueue(Reply(text="Paris it is", tool_calls=[("get_weather", {"city": "Paris"})], usage=(9, 4)))

    events = list(anthropic_client(server).messages.create(
        model="claude-test", max_tokens=100, messages=USER_HI, stream=True))

    assert [e.type for e in events] == [
        "message_start",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", *["content_block_delta"] * 3, "content_block_stop",
        "message_delta", "message_stop"]
    assert {e.delta.type for e in events if e.type == "content_block_delta"} == {"text_delta", "input_json_delta"}
    message_delta = next(e for e in events if e.type == "message_delta")
    assert message_delta.delta.stop_reason == "tool_use" and message_delta.usage.output_tokens == 4
    assert events[0].message.usage.input_tokens == 9


def test_anthropic_stream_helper_accumulates_text_and_tool_use(server):
    server.enqueue(Reply(text="Checking.", tool_calls=[("get_weather", {"city": "Paris"})]))

    with anthropic_client(server).messages.stream(model="claude-test", max_tokens=100, messages=USER_HI) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "Checking."
    tool_use = final.content[1]
    assert (tool_use.type, tool_use.name, tool_use.input) == ("tool_use", "get_weather", {"city": "Paris"})
    assert final.stop_reason == "tool_use"


def test_anthropic_tool_result_is_not_mistaken_for_the_user_message(server):
    message = anthropic_client(server).messages.create(model="c", max_tokens=10, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
    ])

    assert message.content[0].text == "echo: Weather in Paris?"


# errors, slowness, disconnects

def test_429_with_retry_after_reaches_both_sdks(server):
    server.enqueue(Reply(status=429, retry_after=2), Reply(status=429, retry_after=1, error="slow down"))

    with pytest.raises(openai.RateLimitError) as openai_error:
        openai_client(server).chat.completions.create(model="m", messages=USER_HI)
    with pytest.raises(anthropic.RateLimitError) as anthropic_error:
        anthropic_client(server).messages.create(model="c", max_tokens=10, messages=USER_HI)

    assert openai_error.value.status_code == 429
    assert openai_error.value.response.headers["retry-after"] == "2"
    assert openai_error.value.body["type"] == "rate_limit_exceeded"
    assert anthropic_error.value.response.headers["retry-after"] == "1"
    assert anthropic_error.value.body == {"type": "error", "error": {"type": "rate_limit_error",
                                                                     "message": "slow down"}}


def test_500_in_both_wire_formats(server):
    server.enqueue(Reply(status=500), Reply(status=503, error="overloaded"))

    with pytest.raises(openai.InternalServerError) as openai_error:
        openai_client(server).chat.completions.create(model="m", messages=USER_HI)
    with pytest.raises(anthropic.InternalServerError) as anthropic_error:
        anthropic_client(server).messages.create(model="c", max_tokens=10, messages=USER_HI)

    assert openai_error.value.status_code == 500
    assert anthropic_error.value.status_code == 503
    assert anthropic_error.value.body["error"]["message"] == "overloaded"


def test_slow_reply_times_out_a_client_with_a_short_timeout(server):
    server.enqueue(Reply(text="late", delay=1.5))
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        openai_client(server, timeout=0.3).chat.completions.create(model="m", messages=USER_HI)

    assert time.monotonic() - started < 1.2
    assert openai_client(server).chat.completions.create(model="m", messages=USER_HI).choices  # still serving


def test_slow_stream_spaces_its_events(server):
    server.enqueue(Reply(text="one two three", chunk_delay=0.15))
    arrivals = []

    for chunk in openai_client(server).chat.completions.create(model="m", messages=USER_HI, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())

    assert len(arrivals) == 3
    assert arrivals[-1] - arrivals[0] >= 0.25


def test_disconnect_before_answering_is_a_connection_error(server):
    server.enqueue(Reply(disconnect_after=0))

    with pytest.raises(openai.APIConnectionError):
        openai_client(server).chat.completions.create(model="m", messages=USER_HI)


def test_disconnect_mid_stream_breaks_the_stream(server):
    # message_start, ping, content_block_start, then two text deltas
    server.enqueue(Reply(text="a b c d e f", disconnect_after=5))
    received = []

    # The anthropic SDK lets the transport error through; the openai SDK wraps it in APIConnectionError.
    with pytest.raises(httpx2.RemoteProtocolError), anthropic_client(server).messages.stream(
            model="c", max_tokens=10, messages=USER_HI) as stream:
        for text in stream.text_stream:
            received.append(text)

    assert received == ["a ", "b "]


def test_unknown_route_is_404(server):
    response = httpx.post(server.url + "/v1/images/generations", json={"model": "m"})

    assert response.status_code == 404


def test_embeddings_are_deterministic_and_scriptable(server):
    import openai

    client = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)
    first = client.embeddings.create(model="e", input=["red apples", "green pears"]).data
    again = client.embeddings.create(model="e", input="red apples").data  # the SDK's default base64 too

    assert [item.index for item in first] == [0, 1] and len(first[0].embedding) == 64
    assert again[0].embedding == pytest.approx(first[0].embedding)
    server.script_embedding("apples", [0.0, 1.0])
    assert client.embeddings.create(model="e", input="Apples!").data[0].embedding == [0.0, 1.0]
    server.script("e", [Reply(status=503, error="busy")])
    with pytest.raises(openai.APIStatusError) as failure:
        client.embeddings.create(model="e", input="x")
    assert failure.value.status_code == 503
    server.reset()
    assert len(client.embeddings.create(model="e", input="Apples!").data[0].embedding) == 64


def test_reset_forgets_scripts_and_records(server):
    server.enqueue(Reply(text="queued"))
    server.script("m", [Reply(text="scripted")])
    openai_client(server).chat.completions.create(model="x", messages=USER_HI)

    server.reset()

    assert server.requests == []
    response = openai_client(server).chat.completions.create(model="m", messages=USER_HI)
    assert response.choices[0].message.content.startswith("echo: ")


def test_server_as_context_manager_stops_and_frees_its_port():
    with FakeLLMServer() as server:
        url = server.url
        assert httpx.get(url + "/v1/models").status_code == 200

    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/models", timeout=1)


def test_runs_standalone_and_prints_its_url():
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.llm_server", "--port", "0", "--delay", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0).chat.completions.create(
            model="m", messages=USER_HI)
        assert response.choices[0].message.content == "echo: What is the capital of France?"
    finally:
        process.terminate()
        process.wait(timeout=5)
