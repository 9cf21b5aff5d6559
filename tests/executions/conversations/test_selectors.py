"""Who drives a thread: read from a row the request has (``driver_live``) or
from the table (``thread_busy``), the answer is the same; and the message a
driver answers next, with what its turn needs, in one statement."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from executions.conversations.models import Message, MessageRole, MessageStatus, Thread
from executions.conversations.selectors import driver_live, next_pending_message, thread_busy


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
