"""The thread WebSocket through the real ASGI server."""

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from executions.conversations import journal
from executions.conversations.models import Thread, ThreadEvent
from tests.executions.conversations.conftest import deltas, wait_idle
from tests.fakes.llm_server import Reply

WORDS = [f" w{i}" for i in range(8)]


def ws_path(chat, thread_id, query=""):
    return f"{chat.base.replace('http', 'ws')}/ws/agents/{chat.agent.slug}/threads/{thread_id}/{query}"


def collect(socket, until="thread.run.completed", timeout=10):
    events = []
    while True:
        frame = json.loads(socket.recv(timeout=timeout))
        events.append(frame)
        if frame["event"] == until:
            return events


def test_every_socket_on_the_thread_sees_every_event_of_a_turn_started_over_sse(chat, llm):
    llm.enqueue(Reply(text="".join(WORDS), chunks=WORDS, chunk_delay=0.03))
    thread = chat.thread()
    with connect(ws_path(chat, thread["id"]), additional_headers=chat.headers) as one, \
            connect(ws_path(chat, thread["id"], f"?token={chat.headers['Authorization'][7:]}")) as two:
        sse = chat.send(thread["id"], "hello sockets")
        first, second = collect(one), collect(two)
    expected = [(e["id"], e["event"], e["data"]) for e in sse[:-1]]
    assert [(e["id"], e["event"], e["data"]) for e in first] == expected
    assert [(e["id"], e["event"], e["data"]) for e in second] == expected
    assert deltas(first) == "".join(WORDS)


def test_a_socket_receives_every_event_stored_once_its_handshake_completes(chat, monkeypatch):
    # An event lands in the table as another process's batch would, the
    # instant the client sees the socket open.  The socket's read of the seq
    # it follows from is slowed down, so that a socket reading it after the
    # handshake always loses the event; one that read it before receives it.
    read_last_seq = journal.last_seq

    def slow_last_seq(*args, **kwargs):
        time.sleep(0.1)
        return read_last_seq(*args, **kwargs)

    monkeypatch.setattr(journal, "last_seq", slow_last_seq)
    thread = chat.thread()
    with connect(ws_path(chat, thread["id"]), additional_headers=chat.headers) as socket:
        ThreadEvent.objects.create(thread_id=thread["id"], seq=1, event="thread.message.created",
                                   data={"message": {"content": "from elsewhere"}})
        Thread.objects.filter(pk=thread["id"]).update(last_event_seq=1)
        frame = json.loads(socket.recv(timeout=5))
    assert frame == {"id": 1, "event": "thread.message.created", "data": {"message": {"content": "from elsewhere"}}}


def test_a_socket_chats_and_cancels(chat, llm):
    slow = [f" s{i}" for i in range(50)]
    llm.enqueue(Reply(text="hi there", chunks=["hi", " there"]),
                Reply(text="".join(slow), chunks=slow, chunk_delay=0.1))
    thread = chat.thread()
    with connect(ws_path(chat, thread["id"]), additional_headers=chat.headers) as socket:
        socket.send(json.dumps({"type": "message", "content": "hello"}))
        events = collect(socket)
        assert events[0]["event"] == "thread.message.created"
        assert events[0]["data"]["message"]["content"] == "hello"
        assert deltas(events) == "hi there"
        socket.send(json.dumps({"type": "message", "content": "talk a lot"}))
        while json.loads(socket.recv(timeout=10))["event"] != "thread.message.delta":
            pass
        socket.send(json.dumps({"type": "cancel"}))
        rest = collect(socket)
        assert rest[-1]["data"]["status"] == "cancelled"
    wait_idle(thread["id"])


def test_bad_frames_get_an_error_event_and_the_socket_stays_open(chat):
    thread = chat.thread()
    with connect(ws_path(chat, thread["id"]), additional_headers=chat.headers) as socket:
        socket.send("not json")
        error = json.loads(socket.recv(timeout=5))
        assert error["event"] == "error" and error["data"]["error"]["status"] == 400
        socket.send(json.dumps({"type": "shout"}))
        error = json.loads(socket.recv(timeout=5))["data"]["error"]
        assert error["errors"] == {"type": ['Must be "message" or "cancel".']}
        socket.send(json.dumps({"type": "message", "content": "   "}))
        assert json.loads(socket.recv(timeout=5))["data"]["error"]["code"] == "validation_error"


def close_code(url, **kwargs):
    with connect(url, **kwargs) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
    return closed.value.rcvd.code


def test_close_codes(chat, make_user, make_token, add_member):
    thread = chat.thread()
    url = ws_path(chat, thread["id"])
    assert close_code(url) == 4401
    assert close_code(url, additional_headers={"Authorization": "Bearer nope"}) == 4401
    stranger = make_user("stranger")
    assert close_code(url, additional_headers={"Authorization": f"Bearer {make_token(stranger)}"}) == 4404
    assert close_code(ws_path(chat, "00000000-0000-0000-0000-000000000000"), additional_headers=chat.headers) == 4404
    viewer = make_user("viewer")
    add_member(chat.agent, viewer, "viewer")
    run_only = make_token(viewer, ["agents:run"])
    assert close_code(url, additional_headers={"X-API-Key": run_only}) == 4403


def test_a_viewer_may_watch_but_not_chat(chat, make_user, make_token, add_member):
    thread = chat.thread()
    viewer = make_user("watcher")
    add_member(chat.agent, viewer, "viewer")
    with connect(ws_path(chat, thread["id"]), additional_headers={"Authorization": f"Bearer {make_token(viewer)}"}) \
            as socket:
        socket.send(json.dumps({"type": "message", "content": "let me in"}))
        error = json.loads(socket.recv(timeout=5))["data"]["error"]
        assert (error["status"], error["code"]) == (403, "permission_denied")


def test_a_session_cookie_from_another_site_is_not_trusted(chat, user, client):
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    thread = chat.thread()
    url = ws_path(chat, thread["id"])
    assert close_code(url, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}) == 4401
    with connect(url, additional_headers={"Cookie": cookie, "Origin": "http://127.0.0.1:8000"}) as socket:
        socket.send(json.dumps({"type": "shout"}))
        assert json.loads(socket.recv(timeout=5))["event"] == "error"  # authenticated: it answers


def test_resume_over_the_socket_from_an_event_id(chat, llm):
    thread = chat.thread()
    events = chat.send(thread["id"], "remember this turn")
    middle = events[1]["id"]
    with connect(ws_path(chat, thread["id"], f"?last_event_id={middle}"), additional_headers=chat.headers) as socket:
        replay = collect(socket)
    assert [e["id"] for e in replay] == [e["id"] for e in events[2:-1]]
