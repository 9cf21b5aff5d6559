"""The LLM clients against the fake server over real HTTP (the OpenAI client
speaks the wire format itself, the Anthropic one goes through its SDK), on
the network guard's HTTP client unless a test passes its own."""

import asyncio
import json
import re
import socket
import threading
import time
from email.utils import formatdate

import aiohttp
import httpx
import pytest

from agents.models import ProviderKind
from executions.llm import (
    Completion,
    CompletionRequest,
    Message,
    ProviderError,
    ProviderSettings,
    ToolCall,
    ToolSpec,
    Usage,
    client_for,
    openai_client,
)
from executions.llm.echo import EchoClient, estimate_tokens
from executions.llm.errors import parse_retry_after
from tests.fakes.llm_server import Reply

KINDS = ["openai", "anthropic"]
SECRET = "sk-live-0123456789abcdef"
QUESTION = CompletionRequest(model="test-model", messages=(
    Message("system", "Answer in one word."), Message("user", "What is the capital of France?")))
WEATHER = ToolSpec("get_weather", "Current weather for a city.",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def provider(server, kind, **overrides):
    base_url = server.url + "/v1" if kind == "openai" else server.url
    return ProviderSettings(**{"name": f"fake-{kind}", "kind": kind, "base_url": base_url, "api_key": SECRET,
                               "timeout_seconds": 10.0, **overrides})


def complete(settings, request, http_client=None):
    async def run():
        client = client_for(settings, http_client)
        try:
            return await client.complete(request)
        finally:
            await client.aclose()
    return asyncio.run(run())


def stream(settings, request):
    async def run():
        client = client_for(settings)
        try:
            return [item async for item in client.stream(request)]
        finally:
            await client.aclose()
    return asyncio.run(run())


def provider_error(call, *args) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call(*args)
    return caught.value


# completions

@pytest.mark.parametrize("kind", KINDS)
def test_plain_completion(server, kind):
    server.enqueue(Reply(text="Paris", usage=(12, 3)))

    completion = complete(provider(server, kind), QUESTION)

    assert completion == Completion(text="Paris", usage=Usage(12, 3), model="test-model", finish_reason="stop")


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_completion_yields_deltas_then_the_completion(server, kind):
    server.enqueue(Reply(text="The capital is Paris.", usage=(20, 6)))

    items = stream(provider(server, kind), QUESTION)

    *deltas, final = items
    assert deltas == ["The ", "capital ", "is ", "Paris."]
    assert final == Completion(text="The capital is Paris.", usage=Usage(20, 6), model="test-model")
    if kind == "openai":
        assert server.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("kind", KINDS)
def test_default_reply_usage_is_what_the_server_counted(server, kind):
    completion = complete(provider(server, kind), QUESTION)

    assert completion.text == "echo: What is the capital of France?"
    assert completion.usage == Usage(estimate_tokens("Answer in one word.\nWhat is the capital of France?"),
                                     estimate_tokens(completion.text))


PLAIN_HTTP_CLIENTS = {"openai": aiohttp.ClientSession, "anthropic": httpx.AsyncClient}


@pytest.mark.parametrize("kind", KINDS)
def test_the_client_s_own_http_client_and_a_plain_one_of_the_caller_s_work_too(server, kind):
    async def run():
        async with PLAIN_HTTP_CLIENTS[kind]() as http_client:
            client = client_for(provider(server, kind), http_client)
            completion = await client.complete(QUESTION)
            await client.aclose()
            assert not (http_client.closed if kind == "openai" else http_client.is_closed)  # still the caller's
        own = type(client)(provider(server, kind))
        try:
            return completion, await own.complete(QUESTION)
        finally:
            await own.aclose()

    first, second = asyncio.run(run())

    assert first.text == second.text == "echo: What is the capital of France?"


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_completions_keep_their_connection_for_the_next_call(server, kind):
    server.enqueue(Reply(text="One."), Reply(text="Two."), Reply(text="Three."))

    async def run():
        client = client_for(provider(server, kind))
        try:
            return [[item async for item in client.stream(QUESTION)][-1].text for _ in range(3)]
        finally:
            await client.aclose()

    texts = asyncio.run(run())

    assert texts == ["One.", "Two.", "Three."]
    # Each stream was read to its end, so the next one reused the connection
    # (no new TCP and TLS handshake before every chat turn's first delta).
    assert server.connections_opened == 1


def test_a_stream_whose_body_never_ends_after_done_still_finishes(monkeypatch):
    monkeypatch.setattr(openai_client, "DRAIN_SECONDS", 0.1)
    listener = socket.create_server(("127.0.0.1", 0))
    hang_up = threading.Event()
    events = [b'data: {"model": "m", "choices": [{"delta": {"content": "Hi"}, "finish_reason": "stop"}]}\n\n',
              b"data: [DONE]\n\n"]

    def serve():  # answers one streamed request, then keeps its body open
        connection, _address = listener.accept()
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            length = int(re.search(rb"content-length: *(\d+)", head, re.IGNORECASE).group(1))
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n"
                               + b"".join(b"%x\r\n%s\r\n" % (len(event), event) for event in events))
            hang_up.wait(10)

    server_thread = threading.Thread(target=serve, daemon=True)
    server_thread.start()
    settings = ProviderSettings(name="endless", kind="openai", api_key=SECRET, timeout_seconds=10,
                                base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
    try:
        started = time.monotonic()
        *deltas, final = stream(settings, QUESTION)
        elapsed = time.monotonic() - started
    finally:
        hang_up.set()
        server_thread.join(5)
        listener.close()

    assert deltas == ["Hi"] and final.text == "Hi" and final.model == "m"
    assert elapsed < 5  # after [DONE] the drain gave up, rather than waiting out the 10 s read timeout


# tool calls

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_tool_call_round_trip(server, kind, streamed):
    server.enqueue(Reply(tool_calls=[("get_weather", {"city": "Paris"})]), Reply(text="Sunny in Paris."))
    settings = provider(server, kind)
    ask = CompletionRequest(model="test-model", tools=(WEATHER,), messages=(
        Message("system", "Use tools."), Message("user", "Weather in Paris?")))

    # when the model calls the tool
    first = stream(settings, ask)[-1] if streamed else complete(settings, ask)

    # then
    [call] = first.tool_calls
    assert (call.name, call.arguments, first.text, first.finish_reason) == (
        "get_weather", {"city": "Paris"}, "", "tool_calls")

    # when the result goes back
    answer = CompletionRequest(model="test-model", tools=(WEATHER,), messages=(
        *ask.messages, Message("assistant", "", tool_calls=(call,)),
        Message("tool", '{"sky": "clear"}', tool_call_id=call.id)))
    second = stream(settings, answer)[-1] if streamed else complete(settings, answer)

    # then
    assert second.text == "Sunny in Paris." and second.tool_calls == ()
    first_body, second_body = (r.body for r in server.requests)
    if kind == "openai":
        assert first_body["tools"] == [{"type": "function", "function": {
            "name": "get_weather", "description": "Current weather for a city.", "parameters": WEATHER.parameters}}]
        assert second_body["messages"][2:] == [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]},
            {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear"}'}]
    else:
        assert first_body["tools"] == [{"name": "get_weather", "description": "Current weather for a city.",
                                        "input_schema": WEATHER.parameters}]
        assert second_body["system"] == "Use tools."
        assert second_body["messages"][1:] == [
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": '{"sky": "clear"}'}]}]


def test_anthropic_results_of_parallel_calls_share_one_user_turn(server):
    calls = (ToolCall("t1", "get_weather", {"city": "Paris"}), ToolCall("t2", "get_weather", {"city": "Rome"}))
    request = CompletionRequest(model="m", messages=(
        Message("user", "Paris and Rome?"), Message("assistant", "Checking both.", tool_calls=calls),
        Message("tool", "sunny", tool_call_id="t1"), Message("tool", "rainy", tool_call_id="t2")))

    complete(provider(server, "anthropic"), request)

    messages = server.requests[0].body["messages"]
    assert messages[1]["content"][0] == {"type": "text", "text": "Checking both."}
    assert messages[2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "t2", "content": "rainy"}]}


def test_openai_arguments_that_are_not_json_are_kept_raw(server):
    server.enqueue(Reply(tool_calls=[("get_weather", "not json")]))

    completion = complete(provider(server, "openai"), QUESTION)

    assert completion.tool_calls[0].arguments == {"_raw": '"not json"'}


# parameters and headers

def test_openai_sends_the_parameters_given_and_omits_the_rest(server):
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}}
    request = CompletionRequest(model="m", messages=QUESTION.messages, temperature=0.2, max_tokens=50, top_p=0.9,
                                stop=("\n\n",), seed=7, response_format=schema)

    complete(provider(server, "openai"), request)
    complete(provider(server, "openai"), QUESTION)

    full, bare = (r.body for r in server.requests)
    assert {k: full[k] for k in ("temperature", "max_tokens", "top_p", "stop", "seed", "response_format")} == {
        "temperature": 0.2, "max_tokens": 50, "top_p": 0.9, "stop": ["\n\n"], "seed": 7, "response_format": schema}
    assert set(bare) == {"model", "messages"}
    assert bare["messages"] == [{"role": "system", "content": "Answer in one word."},
                                {"role": "user", "content": "What is the capital of France?"}]


def test_openai_sends_a_tool_schema_with_an_integer_beyond_64_bits(server):
    huge = ToolSpec("count", "Counts.", {"type": "integer", "maximum": 2 ** 70})

    complete(provider(server, "openai"), CompletionRequest(model="m", messages=QUESTION.messages, tools=(huge,)))

    assert server.requests[0].body["tools"][0]["function"]["parameters"]["maximum"] == 2 ** 70


def test_anthropic_parameters(server):
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}}
    request = CompletionRequest(model="m", messages=QUESTION.messages, temperature=0.2, top_p=0.9, seed=7,
                                stop=("\n\n",), response_format=schema)

    complete(provider(server, "anthropic"), request)
    complete(provider(server, "anthropic"), CompletionRequest(model="m", messages=QUESTION.messages, max_tokens=64))

    full, small = (r.body for r in server.requests)
    assert full["max_tokens"] == 1024
    assert full["system"] == "Answer in one word."
    assert full["messages"] == [{"role": "user", "content": "What is the capital of France?"}]
    assert full["stop_sequences"] == ["\n\n"]
    assert full["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    # API version 2026-10-21 answers 400 to sampling parameters; Anthropic never had a seed.
    assert not {"temperature", "top_p", "top_k", "seed"} & set(full)
    assert small["max_tokens"] == 64


@pytest.mark.parametrize("kind", KINDS)
def test_api_key_goes_in_the_authorization_header(server, kind):
    complete(provider(server, kind), QUESTION)
    complete(provider(server, kind, api_key=""), QUESTION)

    with_key, without_key = (r.headers for r in server.requests)
    # The anthropic SDK 2.x sends its key as a bearer token too, not as x-api-key.
    assert with_key["authorization"] == f"Bearer {SECRET}"
    assert "x-api-key" not in with_key
    assert without_key["authorization"] == "Bearer not-needed"
    if kind == "anthropic":
        assert with_key["anthropic-version"]


# errors

@pytest.mark.parametrize("kind", KINDS)
def test_the_api_key_never_appears_in_an_error(server, kind):
    server.enqueue(Reply(status=401, error=f"Incorrect API key provided: {SECRET}"))

    error = provider_error(complete, provider(server, kind), QUESTION)

    assert SECRET not in str(error) and SECRET not in error.message
    assert "Incorrect API key provided" in error.message
    assert (error.status, error.retryable) == (401, False)


def test_a_long_error_is_cut_after_the_key_is_redacted(server):
    server.enqueue(Reply(status=400, error="x" * 470 + SECRET + "y" * 100))

    error = provider_error(complete, provider(server, "openai"), QUESTION)

    assert SECRET[:6] not in error.message
    assert len(error.message) <= 500


@pytest.mark.parametrize(("body", "problem"), [
    (b'{"id": "x", "choices": []}', "the answer had no choices"),
    (b'{"choices": [{"message": "not an object"}]}', "the answer could not be read"),
    (b"<html>a proxy's page</html>", "the answer could not be read"),
], ids=["no choices", "wrong shape", "not json"])
def test_an_openai_answer_of_another_shape_is_a_retryable_error(server, body, problem):
    server.enqueue(Reply(body=body))

    error = provider_error(complete, provider(server, "openai"), QUESTION)

    assert error.message == f"fake-openai: {problem}"
    assert (error.status, error.retryable) == (None, True)


def test_an_openai_error_answer_that_is_not_json_keeps_its_text(server):
    server.enqueue(Reply(status=502, body=b"Bad gateway from the proxy"))

    error = provider_error(complete, provider(server, "openai"), QUESTION)

    assert error.message == "fake-openai: HTTP 502: Bad gateway from the proxy"
    assert (error.status, error.retryable) == (502, True)


@pytest.mark.parametrize("kind", KINDS)
def test_429_is_retryable_with_the_retry_after_the_server_sent(server, kind):
    server.enqueue(Reply(status=429, retry_after=7))

    error = provider_error(complete, provider(server, kind), QUESTION)

    assert (error.status, error.retryable, error.retry_after) == (429, True, 7.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_5xx_is_retryable(server, kind, status):
    server.enqueue(Reply(status=status, error="upstream trouble"))

    error = provider_error(complete, provider(server, kind), QUESTION)

    assert (error.status, error.retryable) == (status, True)
    assert "upstream trouble" in error.message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_4xx_is_not_retryable(server, kind, status):
    server.enqueue(Reply(status=status, retry_after=1))

    error = provider_error(complete, provider(server, kind), QUESTION)

    assert (error.status, error.retryable, error.retry_after) == (status, False, None)


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_error_is_a_provider_error(server, kind):
    server.enqueue(Reply(status=503))

    error = provider_error(stream, provider(server, kind), QUESTION)

    assert (error.status, error.retryable) == (503, True)


@pytest.mark.parametrize(("events", "detail"), [
    (b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n', "overloaded"),
    (b'event: error\ndata: {"message": "stream broke"}\n\n', "stream broke"),
    (b"data: <not json>\n\n", "a streamed chunk was not JSON"),
], ids=["error chunk", "error event", "not json"])
def test_an_openai_stream_that_fails_midway_is_a_retryable_error(server, events, detail):
    server.enqueue(Reply(body=b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n' + events))

    error = provider_error(stream, provider(server, "openai"), QUESTION)

    assert error.message == f"fake-openai: {detail}"
    assert (error.status, error.retryable) == (None, True)


def test_an_openai_stream_reads_multi_line_data_and_ignores_comments(server):
    server.enqueue(Reply(body=b": keep-alive\n\n"
                              b'data: {"model": "m-1", "choices": [{"index": 0,\n'
                              b'data:  "delta": {"content": "Hi"}}]}\n\n'
                              b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}\n\n'
                              b"data: [DONE]\n\n"))

    assert stream(provider(server, "openai"), QUESTION) == [
        "Hi", Completion(text="Hi", usage=Usage(3, 1), model="m-1", finish_reason="stop")]


class _Body:
    """A response body that arrives in the chunks given (``aiohttp.StreamReader.iter_any``)."""

    def __init__(self, *chunks: bytes):
        self._chunks = chunks

    async def iter_any(self):
        for chunk in self._chunks:
            yield chunk


@pytest.mark.parametrize("chunks", [
    (b"data: a\n\ndata: b\n\n",),
    (b"data: a\r\n\r\ndata: b\r\n\r\n",),
    (b"data: a\r\rdata: b\r\r",),
    (b"data: a\r", b"\n\r", b"\ndata: b\r\n", b"\r\n"),  # a CRLF split between chunks is one line end
    (b"da", b"ta: a\n", b"\n", b"data: b\n\n"),
    (b"data: a\r", b"\n", b"\n", b"data: b\n", b"\n"),
], ids=["lf", "crlf", "cr", "crlf split", "line split", "crlf then lf"])
def test_an_openai_stream_s_lines_end_at_cr_lf_or_crlf_wherever_its_chunks_break(chunks):
    async def lines():
        return [line async for line in openai_client._lines(_Body(*chunks))]

    assert asyncio.run(lines()) == ["data: a", "", "data: b", ""]


def test_an_openai_stream_s_last_line_and_a_character_split_between_chunks_are_kept():
    async def lines():
        return [line async for line in openai_client._lines(_Body("data: é\n".encode()[:7], b"\xa9\n", b"data: end"))]

    assert asyncio.run(lines()) == ["data: é", "data: end"]


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused_is_retryable(kind):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
    settings = ProviderSettings(name="gone", kind=kind, base_url=base_url, api_key=SECRET, timeout_seconds=5)

    error = provider_error(complete, settings, QUESTION)

    assert (error.status, error.retryable) == (None, True)
    assert "connection failed" in error.message and SECRET not in error.message


@pytest.mark.parametrize("kind", KINDS)
def test_slow_server_with_a_short_timeout_is_a_retryable_timeout(server, kind):
    server.enqueue(Reply(text="too late", delay=2.0))

    error = provider_error(complete, provider(server, kind, timeout_seconds=0.3), QUESTION)

    assert (error.status, error.retryable) == (None, True)
    assert "timed out" in error.message


@pytest.mark.parametrize("kind", KINDS)
def test_stream_cut_midway_is_retryable(server, kind):
    server.enqueue(Reply(text="one two three four five six", disconnect_after=5))

    error = provider_error(stream, provider(server, kind), QUESTION)

    assert error.retryable and error.status is None


@pytest.mark.parametrize("kind", KINDS)
def test_the_network_guard_refuses_loopback_unless_allowed(server, kind, settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []

    error = provider_error(complete, provider(server, kind), QUESTION)

    assert error.retryable is False
    assert "AGENTRY_ALLOWED_PRIVATE_HOSTS" in error.message
    assert server.requests == []


def test_retry_after_parses_seconds_milliseconds_and_dates():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_retry_after_as_an_http_date_in_the_future(server):
    server.enqueue(Reply(status=429, retry_after=formatdate(time.time() + 30, usegmt=True)))

    error = provider_error(complete, provider(server, "openai"), QUESTION)

    assert 25 <= error.retry_after <= 30


# echo and client_for

def test_echo_answers_with_the_last_user_message():
    request = CompletionRequest(model="echo-1", messages=(
        Message("system", "ignored"), Message("user", "first"), Message("assistant", "reply"),
        Message("user", "the last thing said"), Message("tool", "not a user")))

    completion = asyncio.run(EchoClient(ProviderSettings(name="echo", kind="echo")).complete(request))

    assert completion == Completion(
        text="the last thing said", model="echo-1", finish_reason="stop",
        usage=Usage(estimate_tokens("ignored\nfirst\nreply\nthe last thing said\nnot a user"),
                    estimate_tokens("the last thing said")))


def test_echo_without_a_user_message_answers_nothing():
    request = CompletionRequest(model="e", messages=(Message("system", "hello"),), tools=(WEATHER,))

    completion = asyncio.run(EchoClient().complete(request))

    assert (completion.text, completion.tool_calls, completion.usage.completion_tokens) == ("", (), 1)


def test_echo_streams_word_chunks_then_the_completion():
    async def run():
        client = client_for(ProviderSettings(name="echo", kind="echo"))
        request = CompletionRequest(model="e", messages=(Message("user", "one two  three"),))
        return [item async for item in client.stream(request)]

    *deltas, final = asyncio.run(run())

    assert deltas == ["one ", "two  ", "three"]
    assert final.text == "one two  three"


def test_estimate_tokens():
    assert [estimate_tokens(t) for t in ("", "abc", "abcd", "x" * 41)] == [1, 1, 2, 11]


def test_client_for_refuses_an_unknown_kind():
    with pytest.raises(ProviderError, match="unknown provider kind"):
        client_for(ProviderSettings(name="x", kind="gemini"))


@pytest.mark.parametrize("kind", ProviderKind.values)
def test_every_provider_kind_the_catalogue_offers_has_a_client(kind):
    client = client_for(ProviderSettings(name=kind, kind=kind, base_url="http://127.0.0.1:9/v1", api_key="k"))
    asyncio.run(client.aclose())
