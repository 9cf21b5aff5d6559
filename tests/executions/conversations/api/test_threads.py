"""Threads and messages: /agents/{agent}/threads… (API.md §6)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actor import Actor
from agents.services.agents import agent_set_status
from agents.services.runtime import agent_start, agent_stop
from executions.conversations.models import Message, Thread
from tests.conftest import META_KEYS, problem
from tests.executions.conversations.conftest import CHAT_MODEL

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_agent, user, llm):
    return agent_start(agent=make_agent(user, name="Talker", config={"model": CHAT_MODEL}), actor=Actor(user=user))


def threads_path(agent, rest=""):
    return f"/api/v1/agents/{agent.slug}/threads{rest}"


def test_create_list_get_rename_archive_delete(api, user, agent):
    client = api(user)
    created = client.post(threads_path(agent), {"title": "Plans"}, format="json")
    assert created.status_code == 201
    body = created.json()["data"]
    assert body["thread_id"] == body["id"] and body["title"] == "Plans"
    assert (body["message_count"], body["total_tokens"], body["total_cost_usd"], body["archived"]) == (0, 0, 0.0, False)
    assert body["created_by"]["email"] == user.email
    default = client.post(threads_path(agent), {}, format="json").json()["data"]
    assert default["title"] == "New Conversation"

    listed = client.get(threads_path(agent)).json()
    assert set(listed["meta"]) == META_KEYS and listed["meta"]["total"] == 2
    assert [t["id"] for t in listed["data"]] == [default["id"], body["id"]]  # most recently updated first

    renamed = client.patch(threads_path(agent, f"/{body['id']}"), {"title": "Better plans"}, format="json")
    assert renamed.json()["data"]["title"] == "Better plans"
    archived = client.patch(threads_path(agent, f"/{body['id']}"), {"archived": True}, format="json").json()["data"]
    assert archived["archived"] is True and archived["archived_at"]
    assert [t["id"] for t in client.get(threads_path(agent)).json()["data"]] == [default["id"]]
    assert [t["id"] for t in client.get(threads_path(agent, "?archived=true")).json()["data"]] == [body["id"]]

    assert client.delete(threads_path(agent, f"/{body['id']}")).status_code == 204
    assert client.delete(threads_path(agent, f"?thread_id={default['id']}")).status_code == 204
    assert not Thread.objects.exists()
    problem(client.delete(threads_path(agent)), 400, "validation_error")
    problem(client.get(threads_path(agent, f"/{body['id']}")), 404, "not_found")
    problem(client.get(threads_path(agent, "/not-a-uuid")), 404, "not_found")


def test_bad_input_is_refused(api, user, agent):
    client = api(user)
    problem(client.post(threads_path(agent), {"title": "x" * 201}, format="json"), 400, "validation_error")
    problem(client.post(threads_path(agent), {"colour": "red"}, format="json"), 400, "validation_error")
    problem(client.post(threads_path(agent), ["a list"], format="json"), 400, "validation_error")
    thread = client.post(threads_path(agent), {}, format="json").json()["data"]
    problem(client.patch(threads_path(agent, f"/{thread['id']}"), {"archived": "perhaps"}, format="json"),
            400, "validation_error")
    problem(client.get(threads_path(agent, "?archived=perhaps")), 400, "validation_error")


def test_members_read_every_thread_but_write_only_their_own(api, user, agent, make_user, add_member):
    operator, viewer, stranger = make_user("op"), make_user("view"), make_user("stranger")
    add_member(agent, operator, "operator")
    add_member(agent, viewer, "viewer")
    mine = api(user).post(threads_path(agent), {"title": "owner's"}, format="json").json()["data"]
    theirs = api(operator).post(threads_path(agent), {"title": "operator's"}, format="json").json()["data"]

    assert api(viewer).get(threads_path(agent)).json()["meta"]["total"] == 2
    assert api(viewer).get(threads_path(agent, f"/{theirs['id']}/messages")).status_code == 200
    assert [t["id"] for t in api(operator).get(threads_path(agent, "?mine=true")).json()["data"]] == [theirs["id"]]
    problem(api(viewer).post(threads_path(agent), {}, format="json"), 403, "permission_denied")
    problem(api(operator).patch(threads_path(agent, f"/{mine['id']}"), {"title": "mine now"}, format="json"),
            404, "not_found")
    problem(api(operator).delete(threads_path(agent, f"/{mine['id']}")), 404, "not_found")
    problem(api(stranger).get(threads_path(agent)), 404, "not_found")
    problem(api(user, scopes=["agents:read"]).post(threads_path(agent), {}, format="json"), 403, "permission_denied")


def test_the_thread_list_costs_the_same_queries_for_any_number_of_threads(api, user, agent,
                                                                          django_assert_max_num_queries):
    client = api(user)
    client.post(threads_path(agent), {}, format="json")
    with django_assert_max_num_queries(6) as few:
        client.get(threads_path(agent))
    for _ in range(10):
        Thread.objects.create(agent=agent, created_by=user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(threads_path(agent)).json()["data"]) == 11


def test_messages_are_oldest_first_with_both_paginations(api, user, agent, django_assert_max_num_queries):
    thread = Thread.objects.create(agent=agent, created_by=user)
    start = timezone.now()
    for i in range(5):
        Message.objects.create(thread=thread, role="user" if i % 2 == 0 else "assistant", content=f"m{i}",
                               created_at=start + timedelta(seconds=i))
    client = api(user)
    with django_assert_max_num_queries(6):
        page = client.get(threads_path(agent, f"/{thread.pk}/messages?limit=2")).json()
    assert [m["content"] for m in page["data"]] == ["m0", "m1"]
    assert page["meta"]["has_more"] is True
    after = client.get(threads_path(agent, f"/{thread.pk}/messages?limit=2&cursor={page['meta']['next_cursor']}"))
    assert [m["content"] for m in after.json()["data"]] == ["m2", "m3"]
    offset = client.get(threads_path(agent, f"/{thread.pk}/messages?limit=2&offset=4")).json()
    assert [m["content"] for m in offset["data"]] == ["m4"] and offset["meta"]["next_cursor"] is None
    problem(client.get(threads_path(agent, f"/{thread.pk}/messages?cursor=garbage")), 400, "invalid_cursor")


def test_chat_refusals(api, user, agent, make_user, add_member, make_agent):
    thread = api(user).post(threads_path(agent), {}, format="json").json()["data"]
    chat = f"/api/v1/agents/{agent.slug}/chat"
    client = api(user)
    problem(client.post(chat, {"thread_id": thread["id"], "message": ""}, format="json"), 400, "validation_error")
    problem(client.post(chat, {"thread_id": thread["id"], "message": "   "}, format="json"), 400, "validation_error")
    problem(client.post(chat, {"thread_id": thread["id"], "message": "x" * 32_001}, format="json"),
            400, "validation_error")
    problem(client.post(chat, {"thread_id": thread["id"], "message": "a\x00b"}, format="json"), 400,
            "validation_error")
    problem(client.post(chat, {"message": "hi"}, format="json"), 400, "validation_error")
    problem(client.post(chat, {"thread_id": "00000000-0000-0000-0000-000000000000", "message": "hi"}, format="json"),
            404, "not_found")
    viewer, operator = make_user("v"), make_user("o")
    add_member(agent, viewer, "viewer")
    add_member(agent, operator, "operator")
    problem(api(viewer).post(chat, {"thread_id": thread["id"], "message": "hi"}, format="json"), 403,
            "permission_denied")
    problem(api(operator).post(chat, {"thread_id": thread["id"], "message": "hi"}, format="json"), 404, "not_found")
    problem(api(make_user("s")).post(chat, {"thread_id": thread["id"], "message": "hi"}, format="json"), 404,
            "not_found")
    agent_stop(agent=agent, actor=Actor(user=user))
    problem(client.post(chat, {"thread_id": thread["id"], "message": "hi"}, format="json"), 409, "agent_not_running")
    agent_set_status(agent=agent, actor=Actor(user=user), status="paused")
    problem(client.post(chat, {"thread_id": thread["id"], "message": "hi"}, format="json"), 409, "agent_not_active")
    assert not Message.objects.exists()  # nothing half-written


def test_per_session_model_only_when_the_policy_allows(api, user, agent, make_agent):
    client = api(user)
    thread = client.post(threads_path(agent), {}, format="json").json()["data"]
    override = {"model_override": {"provider": "fake", "model": "gpt-backup"}}
    body = problem(client.patch(threads_path(agent, f"/{thread['id']}"), override, format="json"),
                   400, "validation_error")
    assert "model_override" in body["errors"]
    open_agent = make_agent(user, name="Open", config={"model": CHAT_MODEL,
                                                       "session_policy": {"allow_per_session_model_override": True}})
    other = client.post(threads_path(open_agent), {}, format="json").json()["data"]
    done = client.patch(threads_path(open_agent, f"/{other['id']}"), override, format="json")
    assert done.json()["data"]["model_override"] == {"provider": "fake", "model": "gpt-backup"}
    unknown = {"model_override": {"provider": "nowhere", "model": "x"}}
    problem(client.patch(threads_path(open_agent, f"/{other['id']}"), unknown, format="json"), 400, "validation_error")


def test_the_summary_is_readable_and_editable(api, user, agent):
    client = api(user)
    thread = client.post(threads_path(agent), {}, format="json").json()["data"]
    assert thread["summary"] == ""
    edited = client.patch(threads_path(agent, f"/{thread['id']}"), {"summary": "The user likes tea."}, format="json")
    assert edited.json()["data"]["summary"] == "The user likes tea."


def test_the_agent_counts_its_threads_and_messages(api, user, agent):
    Thread.objects.create(agent=agent, created_by=user, message_count=4)
    Thread.objects.create(agent=agent, created_by=user, message_count=2)
    detail = api(user).get(f"/api/v1/agents/{agent.slug}").json()["data"]["stats"]
    listed = api(user).get("/api/v1/agents").json()["data"][0]["stats"]
    assert (detail["threads"], detail["messages"]) == (2, 6) == (listed["threads"], listed["messages"])
