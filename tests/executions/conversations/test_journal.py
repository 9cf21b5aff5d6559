"""The journal's read of stored events (every stream makes it as it starts):
one statement that reads what the ORM reads, in seq order, one batch at a time."""

import uuid

import pytest

from executions.conversations.journal import events_after, journal_close, journal_open, stored_after
from executions.conversations.models import Thread, ThreadEvent
from executions.models import Execution, ExecutionStatus


@pytest.fixture
def thread(make_agent, user):
    return Thread.objects.create(agent=make_agent(user), created_by=user)


def _orm(thread_id, seq, limit):
    return [{**row, "execution_id": str(row["execution_id"]) if row["execution_id"] else None}
            for row in ThreadEvent.objects.filter(thread_id=thread_id, seq__gt=seq).order_by("seq")
            .values("seq", "event", "data", "execution_id")[:limit]]


@pytest.mark.django_db
def test_stored_events_read_as_the_orm_reads_them_in_order(thread, make_agent, user, django_assert_num_queries):
    execution = Execution.objects.create(agent=thread.agent, status=ExecutionStatus.SUCCEEDED, input={},
                                         requested_by=user, timeout_ms=30_000)
    other = Thread.objects.create(agent=thread.agent, created_by=user)
    for seq in (3, 1, 2, 5, 4):  # stored out of order
        ThreadEvent.objects.create(thread=thread, seq=seq, event="thread.message.delta",
                                   data={"content": f"é{seq}", "n": [seq, None]},
                                   execution=execution if seq % 2 else None)
    ThreadEvent.objects.create(thread=other, seq=9, event="thread.message.delta", data={})

    with django_assert_num_queries(1):
        read = stored_after(thread.pk, 1, limit=3)

    assert read == _orm(thread.pk, 1, 3)
    assert [event["seq"] for event in read] == [2, 3, 4]
    assert read[1] == {"seq": 3, "event": "thread.message.delta", "data": {"content": "é3", "n": [3, None]},
                       "execution_id": str(execution.pk)}
    assert read[0]["execution_id"] is None
    assert stored_after(thread.pk, 0) == _orm(thread.pk, 0, 1000)
    assert stored_after(thread.pk, 5) == [] and stored_after(uuid.uuid4(), 0) == []


@pytest.mark.django_db
def test_events_after_adds_the_journals_unstored_events_to_the_stored_ones(thread):
    ThreadEvent.objects.create(thread=thread, seq=1, event="thread.message.created", data={"a": 1})
    journal = journal_open(thread.pk, 1)
    try:
        journal._next("thread.message.delta", {"content": "hi"}, None)
        assert [(event["seq"], event["event"]) for event in events_after(thread.pk, 0)] == [
            (1, "thread.message.created"), (2, "thread.message.delta")]
        journal.flush()
        assert events_after(thread.pk, 0) == stored_after(thread.pk, 0) == _orm(thread.pk, 0, 1000)
    finally:
        journal_close(journal)
