"""Context and session policies: window, summarise, limits, idle sessions, auto-archive."""

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.conversations.context import estimate_tokens
from executions.conversations.models import Message, Thread
from executions.conversations.services.threads import threads_archive_idle
from executions.conversations.tasks import threads_archive_idle_task
from tests.conftest import problem
from tests.executions.conversations.conftest import Chat
from tests.fakes.llm_server import Reply


def seed_history(thread, pairs, *, start=None):
    start = start or timezone.now() - timedelta(minutes=5)
    Thread.objects.filter(pk=thread.pk).update(session_started_at=start - timedelta(seconds=1))
    for i, (question, answer) in enumerate(pairs):
        Message.objects.create(thread=thread, role="user", content=question,
                               created_at=start + timedelta(seconds=2 * i))
        Message.objects.create(thread=thread, role="assistant", content=answer,
                               created_at=start + timedelta(seconds=2 * i + 1))


def test_window_keeps_the_last_messages_within_the_budget(transactional_db, asgi_server, make_chat_agent, user,
                                                          make_token, llm):
    agent = make_chat_agent(user, name="Windowed", config={
        "context_policy": {"kind": "window", "keep_recent": 4, "token_budget": 1000}})
    chat = Chat(asgi_server.url, make_token(user), agent)
    thread = chat.thread()
    seed_history(Thread.objects.get(pk=thread["id"]), [(f"q{i}", f"a{i}") for i in range(6)])
    chat.send(thread["id"], "now")
    sent = llm.requests[-1].body["messages"]
    assert [m["content"] for m in sent if m["role"] != "system"] == ["q4", "a4", "q5", "a5", "now"]


def test_summarise_folds_older_messages_into_a_stored_summary(transactional_db, asgi_server, make_chat_agent, user,
                                                              make_token, llm):
    agent = make_chat_agent(user, name="Summing", config={
        "context_policy": {"kind": "summarise", "keep_recent": 2, "token_budget": 400}})
    chat = Chat(asgi_server.url, make_token(user), agent)
    thread = chat.thread()
    long = "word " * 150  # ~190 tokens each: the whole history could never fit the budget
    pairs = [(f"question {i} {long}", f"answer {i} {long}") for i in range(4)]
    seed_history(Thread.objects.get(pk=thread["id"]), pairs)
    llm.enqueue(Reply(text="The user asked four long questions.", usage=(300, 9)), Reply(text="fine", usage=(50, 1)))
    events = chat.send(thread["id"], "and now?")
    summary_call, turn_call = llm.requests[-2:]
    assert "question 0" in summary_call.body["messages"][-1]["content"]
    assert "question 2" in summary_call.body["messages"][-1]["content"]  # everything but the recent window
    assert "question 3" not in summary_call.body["messages"][-1]["content"]
    prompt = turn_call.body["messages"]
    assert "The user asked four long questions." in prompt[0]["content"]
    assert sum(estimate_tokens(m["content"]) for m in prompt) <= 400
    assert "question 0" not in " ".join(m["content"] for m in prompt)
    stored = Thread.objects.get(pk=thread["id"])
    assert stored.summary == "The user asked four long questions."
    assert stored.summary_through is not None
    # the summary's cost is part of the turn's
    assert events[-2]["data"]["usage"] == {"prompt_tokens": 350, "completion_tokens": 10, "total_tokens": 360}
    # the next turn summarises nothing new: the summary covers the old part
    llm.enqueue(Reply(text="ok"))
    chat.send(thread["id"], "short one")
    assert "Summarise" not in llm.requests[-1].body["messages"][0]["content"]


def test_the_session_limit_is_a_429_with_retry_after(api, user, make_chat_agent):
    agent = make_chat_agent(user, name="Limited", config={"session_policy": {"max_concurrent_sessions_per_user": 2}})
    client = api(user)
    path = f"/api/v1/agents/{agent.slug}/threads"
    first = client.post(path, {}, format="json").json()["data"]
    client.post(path, {}, format="json")
    body = problem(client.post(path, {}, format="json"), 429, "rate_limited")
    assert "2 active sessions" in body["detail"]
    refused = client.post(path, {}, format="json")
    assert 1 <= int(refused["Retry-After"]) <= 1800
    # archiving one frees a slot; idling out does too
    client.patch(f"{path}/{first['id']}", {"archived": True}, format="json")
    third = client.post(path, {}, format="json").json()["data"]
    Thread.objects.filter(pk=third["id"]).update(last_activity_at=timezone.now() - timedelta(hours=1))
    assert client.post(path, {}, format="json").status_code == 201
    # bringing an idle thread back to life needs a free slot too
    body = problem(client.post(f"/api/v1/agents/{agent.slug}/chat", {"thread_id": third["id"], "message": "hi"},
                               format="json"), 429, "rate_limited")
    assert not Message.objects.filter(thread_id=third["id"]).exists()


def test_an_idle_session_starts_afresh(transactional_db, asgi_server, make_chat_agent, user, make_token, llm):
    agent = make_chat_agent(user, name="Forgetful", config={"session_policy": {"idle_timeout_seconds": 60}})
    chat = Chat(asgi_server.url, make_token(user), agent)
    thread = chat.thread()
    seed_history(Thread.objects.get(pk=thread["id"]), [("old question", "old answer")],
                 start=timezone.now() - timedelta(minutes=10))
    Thread.objects.filter(pk=thread["id"]).update(last_activity_at=timezone.now() - timedelta(minutes=5),
                                                  session_started_at=timezone.now() - timedelta(minutes=10))
    chat.send(thread["id"], "new question")
    assert [m["content"] for m in llm.requests[-1].body["messages"] if m["role"] != "system"] == ["new question"]
    assert Thread.objects.get(pk=thread["id"]).session_started_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.django_db
def test_idle_threads_are_archived_after_the_policy_days(make_chat_agent, user):
    agent = make_chat_agent(user, name="Archivist", config={"session_policy": {"auto_archive_after_days": 3}})
    old = Thread.objects.create(agent=agent, created_by=user, last_activity_at=timezone.now() - timedelta(days=4))
    fresh = Thread.objects.create(agent=agent, created_by=user)
    assert threads_archive_idle() == 1
    old.refresh_from_db(), fresh.refresh_from_db()
    assert old.archived and old.archived_at and not fresh.archived
    assert threads_archive_idle_task() == {"archived": 0}


def test_a_session_past_its_longest_duration_starts_afresh(transactional_db, asgi_server, make_chat_agent, user,
                                                           make_token, llm):
    agent = make_chat_agent(user, name="Bounded", config={"session_policy": {"max_session_duration_seconds": 600}})
    chat = Chat(asgi_server.url, make_token(user), agent)
    thread = chat.thread()
    seed_history(Thread.objects.get(pk=thread["id"]), [("early question", "early answer")],
                 start=timezone.now() - timedelta(minutes=11))
    Thread.objects.filter(pk=thread["id"]).update(last_activity_at=timezone.now())  # busy, but for too long
    chat.send(thread["id"], "late question")
    assert [m["content"] for m in llm.requests[-1].body["messages"] if m["role"] != "system"] == ["late question"]


def test_the_sessions_model_override_answers_the_turn(transactional_db, asgi_server, make_chat_agent, user,
                                                      make_token, llm):
    agent = make_chat_agent(user, name="Switchable", config={
        "session_policy": {"allow_per_session_model_override": True}})
    chat = Chat(asgi_server.url, make_token(user), agent)
    thread = chat.thread()
    chat.client.patch(chat.path(f"/threads/{thread['id']}"),
                      json={"model_override": {"provider": "fake", "model": "gpt-backup"}})
    events = chat.send(thread["id"], "which model?")
    assert llm.requests[-1].body["model"] == "gpt-backup"
    assert events[-2]["data"]["model"] == "gpt-backup"
    assert Message.objects.get(thread_id=thread["id"], role="assistant").model == "gpt-backup"
