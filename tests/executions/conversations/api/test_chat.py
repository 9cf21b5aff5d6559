"""POST /agents/{agent}/chat through a real ASGI server, with the fake LLM streaming slowly."""

import time
from decimal import Decimal

from agents.models import Memory
from executions.conversations.models import Message, ThreadEvent
from executions.models import Artifact, Execution
from tests.executions.conversations.conftest import Chat, deltas, read_stream, wait_idle
from tests.fakes.llm_server import Reply


def test_a_turn_streams_the_answer_and_stores_both_messages(chat, llm):
    llm.enqueue(Reply(text="Hello there, friend", chunks=["Hello", " there", ", friend"], chunk_delay=0.05,
                      usage=(12, 5)))
    thread = chat.thread()
    events = chat.send(thread["id"], "Hi, who are you today?")

    names = [e.get("event") for e in events]
    assert names[0] == "thread.message.created"
    assert names[-2:] == ["thread.run.completed", None] and events[-1] == {"done": True}
    assert deltas(events) == "Hello there, friend"
    ids = [e["id"] for e in events[:-1]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    completed = events[-2]["data"]
    assert completed["status"] == "completed"
    assert completed["usage"] == {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    assert completed["cost_usd"] == float(Decimal("0.000064"))  # 12 * $2/M + 5 * $8/M
    assert completed["message"]["content"] == "Hello there, friend"
    assert completed["thread"] == {"id": thread["id"], "title": "Hi, who are you today?"}  # named after it

    stored = wait_idle(thread["id"])
    user_message, answer = Message.objects.filter(thread_id=thread["id"]).order_by("created_at")
    assert (user_message.role, user_message.content, user_message.status) == ("user", "Hi, who are you today?",
                                                                              "completed")
    assert (answer.role, answer.content, answer.status) == ("assistant", "Hello there, friend", "completed")
    assert (answer.tokens_prompt, answer.tokens_completion) == (12, 5)
    assert answer.cost_usd == Decimal("0.000064")
    assert answer.model == "gpt-main" and answer.provider == "fake"
    assert answer.ttft_ms is not None and answer.latency_ms >= answer.ttft_ms
    execution = Execution.objects.get(pk=answer.execution_id)
    assert execution.trigger == "chat" and execution.status == "succeeded"
    assert execution.steps.filter(node_type="agent").exists()
    assert stored.message_count == 2 and stored.total_tokens == 17
    assert stored.title == "Hi, who are you today?"
    # every streamed event is stored, under the ids the client saw
    assert list(ThreadEvent.objects.filter(thread_id=thread["id"]).values_list("seq", flat=True)) == ids
    assert stored.last_event_seq == ids[-1]


def test_the_model_sees_the_earlier_turns_of_the_thread(chat, llm):
    thread = chat.thread()
    chat.send(thread["id"], "My name is Ada.")
    second = chat.send(thread["id"], "What is my name?")
    assert "thread" not in second[-2]["data"]  # the thread kept its name: nothing of it changed
    last = llm.requests[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in last[-3:]] == [
        ("user", "My name is Ada."), ("assistant", "echo: My name is Ada."), ("user", "What is my name?")]


def test_a_client_that_disconnects_mid_turn_loses_nothing(chat, llm):
    llm.enqueue(Reply(text="one two three four five six", chunks=["one", " two", " three", " four", " five", " six"],
                      chunk_delay=0.1))
    thread = chat.thread()
    seen = chat.send(thread["id"], "count", on_event=lambda e: e.get("event") != "thread.message.delta")
    assert seen[-1]["event"] == "thread.message.delta"  # we hung up after the first delta
    wait_idle(thread["id"])
    answer = Message.objects.get(thread_id=thread["id"], role="assistant")
    assert (answer.content, answer.status) == ("one two three four five six", "completed")


def test_resume_with_last_event_id_gets_exactly_what_was_missed_then_the_rest(chat, llm):
    words = [f" w{i}" for i in range(12)]
    llm.enqueue(Reply(text="".join(words), chunks=words, chunk_delay=0.08))
    thread = chat.thread()
    first = chat.send(thread["id"], "go", on_event=lambda e: deltas([e]) != " w2")
    last_seen = first[-1]["id"]
    time.sleep(0.3)  # events keep coming while we are away
    with chat.client.stream("GET", chat.path(f"/threads/{thread['id']}/stream"),
                            headers={"Last-Event-ID": str(last_seen)}) as response:
        assert response.status_code == 200
        resumed = read_stream(response)
    assert resumed[-1] == {"done": True}
    ids = [e["id"] for e in resumed[:-1]]
    assert ids[0] == last_seen + 1 and ids == list(range(ids[0], ids[0] + len(ids)))  # none missing, none twice
    assert deltas(first) + deltas(resumed) == "".join(words)
    assert resumed[-2]["event"] == "thread.run.completed"
    # the same through the query parameter, after the turn: the stored tail
    with chat.client.stream("GET", chat.path(f"/threads/{thread['id']}/stream?last_event_id={ids[-3]}")) as again:
        tail = read_stream(again)
    assert [e["id"] for e in tail[:-1]] == ids[-2:]


def test_a_bad_last_event_id_is_a_400(chat):
    thread = chat.thread()
    response = chat.client.get(chat.path(f"/threads/{thread['id']}/stream"), headers={"Last-Event-ID": "soon"})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_tool_calls_and_results_are_streamed_and_stored(chat, llm, make_chat_agent, user, make_token):
    agent = make_chat_agent(user, name="Tooled", config={"tools": [
        {"id": "shout", "type": "template", "description": "Shout the input",
         "config": {"template": "{{input.input|upper}}"}}]})
    client = Chat(chat.base, make_token(user), agent)
    llm.enqueue(Reply(tool_calls=[("shout", {"input": "hello"}, "call_1")]), Reply(text="It said HELLO."))
    thread = client.thread()
    events = client.send(thread["id"], "Shout hello")
    call = next(e for e in events if e.get("event") == "thread.run.tool_call")
    result = next(e for e in events if e.get("event") == "thread.run.tool_result")
    assert call["data"]["name"] == "shout" and call["data"]["arguments"] == {"input": "hello"}
    assert result["data"] == {"id": "call_1", "name": "shout", "result": "HELLO",
                              "message_id": call["data"]["message_id"]}
    assert call["id"] < result["id"] < events[-2]["id"]
    answer = Message.objects.get(thread_id=thread["id"], role="assistant")
    assert answer.content == "It said HELLO."
    assert answer.tool_calls == [{"id": "call_1", "name": "shout", "arguments": {"input": "hello"}, "result": "HELLO"}]


def test_a_provider_failure_ends_the_turn_with_a_problem(chat, llm):
    llm.enqueue(*[Reply(status=500, error="boom")] * 3)
    thread = chat.thread()
    events = chat.send(thread["id"], "hello?")
    failed = events[-2]
    assert failed["event"] == "thread.run.failed"
    problem = failed["data"]["error"]
    assert problem["status"] == 502 and problem["code"] == "provider_error"
    assert set(problem) == {"type", "title", "status", "detail", "instance", "code", "errors"}
    answer = Message.objects.get(thread_id=thread["id"], role="assistant")
    assert answer.status == "failed" and answer.error["code"] == "provider_error"
    assert Execution.objects.get(pk=answer.execution_id).status == "failed"


def test_every_chat_can_remember_and_save_artifacts(chat, llm):
    llm.enqueue(Reply(tool_calls=[("remember", {"content": "The user prefers tea."}, "c1"),
                                  ("save_artifact", {"title": "Tea notes", "content": "<h1>Tea</h1>"}, "c2")]),
                Reply(text="Noted, and saved."))
    thread = chat.thread()
    events = chat.send(thread["id"], "I like tea; write me a page about it")
    offered = {tool["function"]["name"] for tool in llm.requests[0].body["tools"]}
    assert {"remember", "save_artifact"} <= offered
    results = [e["data"] for e in events if e.get("event") == "thread.run.tool_result"]
    assert [r["name"] for r in results] == ["remember", "save_artifact"]
    assert Memory.objects.get(agent=chat.agent).content == "The user prefers tea."
    artifact = Artifact.objects.get(agent=chat.agent)
    assert (artifact.title, str(artifact.thread_id)) == ("Tea notes", thread["id"])
