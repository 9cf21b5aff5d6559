"""Who drives a thread: read from a row the request has (``driver_live``) or
from the table (``thread_busy``), the answer is the same; and the message a
driver answers next, with what its turn needs, in one statement."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.errors import NotFound
from executions.conversations.models import Message, MessageRole, MessageStatus, Thread
from executions.conversations.selectors import (
    context_messages,
    driver_live,
    has_pending_messages,
    next_pending_message,
    thread_busy,
    thread_get,
)


@pytest.mark.django_db
@pytest.mark.parametrize(("driver", "seen_seconds_ago", "busy"), [
    ("", 0, False),                       # nobody holds the lease
    ("host:1:ab12cd34", 0, True),         # a driver renewed it just now
    ("host:1:ab12cd34", None, False),     # a name without a heartbeat
    ("host:1:ab12cd34", "stale", False),  # its driver stopped renewing: dead
], ids=["free", "live", "no-heartbeat", "stale"])
def test_a_row_read_and_the_table_agree_on_whether_a_driver_is_live(make_agent, user, driver, seen_seconds_ago,
                                                                     busy):
    if seen_seconds_ago == "stale":
        seen_seconds_ago = settings.AGENTRY_EXECUTION_STALE_SECONDS + 5
    seen = None if seen_seconds_ago is None else timezone.now() - timedelta(seconds=seen_seconds_ago)
    thread = Thread.objects.create(agent=make_agent(user), created_by=user, driver=driver, driver_seen_at=seen)

    assert driver_live(Thread.objects.get(pk=thread.pk)) is busy
    assert thread_busy(thread.pk) is busy


@pytest.mark.django_db
def test_the_next_pending_message_comes_with_its_thread_agent_and_starter(make_agent, make_user, user,
                                                                          django_assert_num_queries):
    agent = make_agent(make_user("owner"))
    thread = Thread.objects.create(agent=agent, created_by=user, title="Support")
    other = Thread.objects.create(agent=agent, created_by=user)
    start = timezone.now()

    def message(on, role, status, seconds, content="x"):
        return Message.objects.create(thread=on, role=role, status=status, content=content,
                                      created_at=start + timedelta(seconds=seconds))

    message(thread, MessageRole.USER, MessageStatus.COMPLETED, 0)     # answered already
    message(thread, MessageRole.ASSISTANT, MessageStatus.PENDING, 1)  # not the user's
    message(other, MessageRole.USER, MessageStatus.PENDING, 2)        # another thread's
    later = message(thread, MessageRole.USER, MessageStatus.PENDING, 4, "second")
    first = message(thread, MessageRole.USER, MessageStatus.PENDING, 3, "first")

    with django_assert_num_queries(1):
        found = next_pending_message(thread.pk)
        assert (found.thread.title, found.thread.agent.slug, found.thread.created_by.email) \
            == ("Support", agent.slug, user.email)

    assert found.pk == first.pk and found.content == "first" and found.status == MessageStatus.PENDING
    assert found.created_at == Message.objects.get(pk=first.pk).created_at
    assert found.thread.agent.config == agent.config and found.thread.agent.owner_id == agent.owner_id
    Message.objects.filter(pk=first.pk).update(status=MessageStatus.COMPLETED)
    assert next_pending_message(thread.pk).pk == later.pk
    Message.objects.filter(thread=thread).update(status=MessageStatus.CANCELLED)
    assert next_pending_message(thread.pk) is None


@pytest.mark.django_db
def test_only_a_pending_user_message_of_the_thread_counts_as_pending(make_agent, user, django_assert_num_queries):
    agent = make_agent(user)
    thread, other = (Thread.objects.create(agent=agent, created_by=user) for _ in range(2))
    Message.objects.create(thread=thread, role=MessageRole.USER, status=MessageStatus.COMPLETED, content="answered")
    Message.objects.create(thread=thread, role=MessageRole.ASSISTANT, status=MessageStatus.PENDING, content="not")
    Message.objects.create(thread=other, role=MessageRole.USER, status=MessageStatus.PENDING, content="elsewhere")
    with django_assert_num_queries(1):
        assert has_pending_messages(thread.pk) is False
    Message.objects.create(thread=thread, role=MessageRole.USER, status=MessageStatus.PENDING, content="waiting")
    assert has_pending_messages(thread.pk) is True
    assert has_pending_messages(other.pk) is True
    assert has_pending_messages(uuid.uuid4()) is False


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.django_db
def test_a_thread_comes_with_its_starter_in_one_statement_and_only_from_its_agent(
        make_agent, make_user, user, django_assert_num_queries):
    agent, other_agent = make_agent(user), make_agent(user)
    thread = Thread.objects.create(agent=agent, created_by=user, title="Support", model_override={"model": "m"})
    stranger = make_user("stranger")

    with django_assert_num_queries(1):
        found = thread_get(agent=agent, user=user, ref=str(thread.pk), write=True)
        assert found.created_by.username == user.username  # no second query for the starter

    assert _fields(found) == _fields(Thread.objects.get(pk=thread.pk))
    assert found.model_override == {"model": "m"} and timezone.is_aware(found.created_at)
    assert thread_get(agent=agent, user=stranger, ref=thread.pk).pk == thread.pk  # reading is every member's
    for kwargs in ({"agent": other_agent, "user": user, "ref": thread.pk},      # another agent's thread
                   {"agent": agent, "user": stranger, "ref": thread.pk, "write": True},  # not theirs to write
                   {"agent": agent, "user": user, "ref": uuid.uuid4()},         # no such thread
                   {"agent": agent, "user": user, "ref": "not-a-uuid"}):
        with pytest.raises(NotFound):
            thread_get(**kwargs)


@pytest.mark.django_db
def test_a_turns_history_is_what_the_orm_query_it_replaced_finds(make_agent, user, django_assert_num_queries):
    thread = Thread.objects.create(agent=make_agent(user), created_by=user)
    start = timezone.now() - timedelta(hours=1)
    kinds = [(MessageRole.USER, MessageStatus.COMPLETED, ""), (MessageRole.ASSISTANT, MessageStatus.COMPLETED, ""),
             (MessageRole.USER, MessageStatus.PENDING, ""),      # not taken up yet: left out
             (MessageRole.ASSISTANT, MessageStatus.PENDING, ""),  # an answer being written: kept
             (MessageRole.USER, MessageStatus.FAILED, ""), (MessageRole.ASSISTANT, MessageStatus.FAILED, ""),
             (MessageRole.USER, MessageStatus.COMPLETED, "/help"), (MessageRole.ASSISTANT, MessageStatus.CANCELLED, "")]
    Message.objects.create(thread=thread, role=MessageRole.USER, content="before the session",
                           status=MessageStatus.COMPLETED, created_at=start - timedelta(minutes=1))
    for i, (role, status, command) in enumerate(kinds * 2):
        Message.objects.create(thread=thread, role=role, status=status, command=command, content=f"m{i}",
                               created_at=start + timedelta(seconds=i))
    orms = (Message.objects.filter(thread=thread, created_at__gt=start)
            .filter(Q(role=MessageRole.ASSISTANT) | ~Q(status=MessageStatus.PENDING))
            .exclude(status=MessageStatus.FAILED).exclude(command__gt="").order_by("-created_at", "-id"))

    for limit in (3, 100):
        with django_assert_num_queries(1):
            history = context_messages(thread, since=start, limit=limit)
        assert [_fields(m) for m in history] == [_fields(m) for m in reversed(orms[:limit])]
    assert [m.content for m in context_messages(thread, since=start, limit=100)] == \
        ["m1", "m3", "m7", "m8", "m9", "m11", "m15"]  # m0 is the session's start itself, not after it
