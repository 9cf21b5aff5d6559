"""Stopping a turn, and messages sent while one runs (multitask_strategy)."""

import threading
import time

import pytest

from executions.conversations.models import Message, Thread
from executions.models import Execution
from tests.conftest import problem
from tests.executions.conversations.conftest import deltas, wait_idle
from tests.fakes.llm_server import Reply

SLOW = [f" t{i}" for i in range(40)]


def slow_reply(delay=0.05):
    return Reply(text="".join(SLOW), chunks=SLOW, chunk_delay=delay)


def in_background(fn, *args, **kwargs):
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("value", fn(*args, **kwargs)), daemon=True)
    worker.start()
    return worker, box


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def send_in_background(chat, thread_id, text):
    """Send ``text`` from another thread; returns once the answer is streaming."""
    streaming = threading.Event()

    def seen(event):
        if event.get("event") == "thread.message.delta":
            streaming.set()

    worker, box = in_background(chat.send, thread_id, text, on_event=seen)
    assert streaming.wait(10), "the turn did not start streaming"
    return worker, box


def test_cancel_stops_the_upstream_stream_and_keeps_the_partial_answer(chat, llm):
    llm.enqueue(slow_reply(0.1))
    thread = chat.thread()
    worker, box = send_in_background(chat, thread["id"], "talk slowly")
    started = time.monotonic()
    response = chat.client.post(chat.path(f"/threads/{thread['id']}/cancel"))
    assert response.status_code == 200
    worker.join(10)
    assert time.monotonic() - started < 1.5  # the stream ended within a second or so
    events = box["value"]
    completed = events[-2]
    assert completed["event"] == "thread.run.completed" and completed["data"]["status"] == "cancelled"
    wait_for(lambda: llm.streams_abandoned >= 1, timeout=3)  # the fake server saw the connection closed
    answer = Message.objects.get(thread_id=thread["id"], role="assistant")
    assert answer.status == "cancelled"
    assert answer.content and answer.content == deltas(events) and answer.content != "".join(SLOW)
    assert Execution.objects.get(pk=answer.execution_id).status == "cancelled"


def test_cancel_with_nothing_running_is_harmless(chat):
    thread = chat.thread()
    response = chat.client.post(chat.path(f"/threads/{thread['id']}/cancel"))
    assert response.status_code == 200 and response.json()["data"]["running"] is False


@pytest.mark.parametrize("strategy", ["reject"])
def test_reject_refuses_a_second_message_while_a_turn_runs(chat, llm, strategy):
    llm.enqueue(slow_reply())
    thread = chat.thread(multitask_strategy=strategy)
    worker, box = send_in_background(chat, thread["id"], "first")
    response = chat.client.post(chat.path("/chat"), json={"thread_id": thread["id"], "message": "second"})
    assert response.status_code == 409 and response.json()["code"] == "turn_in_progress"
    assert response.headers["Retry-After"] == "1"
    worker.join(15)
    assert deltas(box["value"]) == "".join(SLOW)
    assert list(Message.objects.filter(thread_id=thread["id"]).values_list("content", flat=True)) == [
        "first", "".join(SLOW)]


def test_interrupt_cancels_the_running_turn_and_answers_the_new_message(chat, llm):
    llm.enqueue(slow_reply(), Reply(text="second answer"))
    thread = chat.thread(multitask_strategy="interrupt")
    worker, box = send_in_background(chat, thread["id"], "first")
    second = chat.send(thread["id"], "second")
    worker.join(10)
    assert box["value"][-2]["data"]["status"] == "cancelled"
    assert second[-2]["data"]["status"] == "completed" and deltas(second) == "second answer"
    wait_idle(thread["id"])
    rows = list(Message.objects.filter(thread_id=thread["id"]).order_by("created_at").values_list(
        "role", "status", "content"))
    assert rows[0] == ("user", "completed", "first")
    assert rows[1][:2] == ("assistant", "cancelled")
    assert rows[2:] == [("user", "completed", "second"), ("assistant", "completed", "second answer")]


def test_enqueue_answers_the_second_message_after_the_first(chat, llm):
    llm.enqueue(slow_reply(0.02), Reply(text="second answer"))
    thread = chat.thread()  # enqueue is the session policy's default
    worker, box = send_in_background(chat, thread["id"], "first")
    second = chat.send(thread["id"], "second")
    worker.join(10)
    assert deltas(box["value"]) == "".join(SLOW)
    assert deltas(second) == "second answer"
    # each stream carries only its own turn
    assert {e["data"]["message_id"] for e in second[:-1]} != {e["data"]["message_id"] for e in box["value"][:-1]}
    first_done = box["value"][-2]["id"]
    assert all(e["id"] > first_done for e in second[:-1])
    rows = list(Message.objects.filter(thread_id=thread["id"]).order_by("created_at").values_list("content", flat=True))
    assert rows == ["first", "".join(SLOW), "second", "second answer"]


def test_the_thread_strategy_can_be_changed_and_falls_back_to_the_policy(chat):
    thread = chat.thread()
    assert thread["multitask_strategy"] == ""
    response = chat.client.patch(chat.path(f"/threads/{thread['id']}"), json={"multitask_strategy": "reject"})
    assert response.json()["data"]["multitask_strategy"] == "reject"
    response = chat.client.patch(chat.path(f"/threads/{thread['id']}"), json={"multitask_strategy": "later"})
    problem(response, 400, "validation_error")


def test_deleting_a_thread_mid_turn_stops_the_turn_quietly(chat, llm, caplog):
    llm.enqueue(slow_reply(0.05))
    thread = chat.thread()
    worker, box = send_in_background(chat, thread["id"], "long answer please")
    assert chat.client.delete(chat.path(f"/threads/{thread['id']}")).status_code == 204
    worker.join(10)
    assert not worker.is_alive()
    wait_for(lambda: not Execution.objects.filter(status="running").exists())
    assert not Thread.objects.exists() and not Message.objects.exists()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING") and r.name.startswith("agentry")]
