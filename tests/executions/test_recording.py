"""A run's log: event ids reserved before the rows exist, steps and events
kept in memory and written in a few statements, and readers that merge the
table with what is not written yet, each event once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.actor import Actor
from executions.engine.context import StepOutcome
from executions.models import Execution, ExecutionEvent, ExecutionStep
from executions.services import reaper, runs
from executions.services.event_ids import event_ids_reserve
from executions.services.recording import event_record
from executions.services.run_log import RunLog, events_after, run_log_close, run_log_open
from tests.executions.conftest import THREE_NODES

pytestmark = pytest.mark.django_db


@pytest.fixture
def execution(user, make_agent):
    agent = make_agent(user, pipeline=THREE_NODES)
    execution, _ = runs.execution_start(agent=agent, actor=Actor(user=user), queued=True,
                                        request=runs.run_request(agent, prompt="x"))
    Execution.objects.filter(pk=execution.pk).update(status="running", heartbeat_at=timezone.now())
    return execution


@pytest.fixture
def log(execution):
    log = run_log_open(execution.pk, after=execution.last_event_id)
    yield log
    run_log_close(log)


def numbered(log, kind, data=None):
    """An event as a run makes it while someone listens: numbered at once."""
    event = log.add_event(kind, data or {})
    log.number_all()
    return event


# --- event ids ----------------------------------------------------------------------------------

def test_reserved_ids_are_fresh_increasing_and_below_any_later_row(execution):
    first = event_ids_reserve(5)
    second = event_ids_reserve(3)

    assert first == sorted(first) and len(set(first + second)) == 8
    assert min(second) > max(first) > execution.last_event_id
    # A row stored without an id (the reaper's done, an ingestion's events) comes after every reserved one.
    assert event_record(execution.pk, "status", {"status": "running"}).id > max(second)


def test_reserving_nothing_is_refused():
    with pytest.raises(ValueError):
        event_ids_reserve(0)


# --- the log --------------------------------------------------------------------------------------

def test_events_wait_unnumbered_until_ids_are_reserved_then_are_numbered_in_order(execution, log):
    first = log.add_event("status", {"status": "running"})
    second = log.add_event("node_started", {"node_id": "input"})
    assert (first.id, second.id, log.unnumbered()) == (None, None, 2)
    assert log.number() == []  # no ids yet

    log.reserve(1)
    [announced] = log.number()
    log.reserve(1)
    [_second] = log.number()

    assert announced == {"type": "event", "id": first.id, "after": execution.last_event_id, "event": "status",
                         "data": {"status": "running"}}
    assert second.id > first.id and second.after == first.id and log.last_id == second.id
    assert ExecutionEvent.objects.filter(execution=execution).count() == 1  # only the queued status


def test_flush_writes_steps_and_events_in_few_statements_and_only_once(execution, log,
                                                                        django_assert_num_queries):
    step = log.step_start("llm", "llm_call", {"messages": []})
    numbered(log, "node_started", {"node_id": "llm"})

    # a savepoint around two INSERTs (the test's transaction holds the commit)
    with django_assert_num_queries(4):
        log.flush()
    assert ExecutionStep.objects.get(pk=step.id).status == "running"
    with django_assert_num_queries(0):
        log.flush()  # nothing new

    log.step_finish(step, "succeeded", StepOutcome(output="Paris", provider="fake", model="gpt-main",
                                                   tokens_prompt=3, tokens_completion=2,
                                                   cost_usd=Decimal("0.5")), None)
    log.add_event("step", {"node_id": "llm"})
    # the unnumbered event gets an id first, from the block reserved already (the run goes on: what comes
    # later must come after it), then one UPDATE for the finished steps and one INSERT for the events
    with django_assert_num_queries(4):
        log.flush()
    assert log.unnumbered() == 0

    stored = ExecutionStep.objects.get(pk=step.id)
    assert (stored.status, stored.output, stored.tokens_prompt, stored.cost_usd) == ("succeeded", "Paris", 3,
                                                                                     Decimal("0.5"))
    kinds = list(ExecutionEvent.objects.filter(execution=execution).values_list("kind", flat=True))
    assert kinds == ["status", "node_started", "step"]
    assert log.totals() == (3, 2, Decimal("0.5"))


def test_a_change_made_while_a_batch_is_written_is_written_next_time(execution, log):
    step = log.step_start("t", "template", None)
    batch = log.take()
    log.step_finish(step, "succeeded", StepOutcome(output="late"), None)  # meanwhile, on the event loop
    log.insert(batch)
    log.written(batch)
    assert ExecutionStep.objects.get(pk=step.id).status == "running"

    log.flush()

    assert ExecutionStep.objects.get(pk=step.id).output == "late"


# --- reading --------------------------------------------------------------------------------------

def test_readers_get_stored_then_unstored_events_each_once(execution, log):
    queued = execution.last_event_id
    a = numbered(log, "status", {"status": "running"})
    log.flush()
    b = numbered(log, "node_started", {"node_id": "input"})
    c = log.add_event("step", {"node_id": "input"})  # nobody listened: the reader numbers it

    events, finished = events_after(execution.pk, 0)

    assert [e.id for e in events] == [queued, a.id, b.id, c.id] and not finished
    assert [e.id for e in events_after(execution.pk, a.id)[0]] == [b.id, c.id]
    assert [e.id for e in events_after(execution.pk, c.id)[0]] == []


def test_unstored_events_after_a_gap_wait_for_the_table(execution, log):
    numbered(log, "status", {"status": "running"})
    b = numbered(log, "node_started", {"node_id": "input"})
    batch = log.take()
    log.written(batch)  # as if written by a transaction not visible yet: a is neither stored nor in the log
    log._events.append(b)

    events, _ = events_after(execution.pk, execution.last_event_id)

    assert events == []  # b does not follow what the table holds: nothing is sent out of order


# --- a process that dies mid-run ---------------------------------------------------------------------

def test_a_run_that_died_unwritten_is_settled_with_a_done_above_its_events(execution, log, settings):
    announced = numbered(log, "status", {"status": "running"})  # seen live, never written
    run_log_close(log)
    Execution.objects.filter(pk=execution.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    assert reaper.reap_stale_executions(stale_after=60) == [execution.pk]

    done = ExecutionEvent.objects.filter(execution=execution).last()
    assert done.kind == "done" and done.data["error"]["code"] == "worker_lost"
    assert done.id > announced.id  # a stream resumed after the lost event still ends


def test_run_logs_belong_to_their_process_registry(execution):
    log = run_log_open(execution.pk)
    run_log_close(log)
    run_log_close(log)  # closing twice is harmless
    assert events_after(execution.pk, 0)[0][0].kind == "status"


def test_the_last_write_leaves_numbering_to_the_database(execution):
    log = RunLog(execution.pk, listened=lambda: False)
    reserved = numbered(log, "status")
    late = log.add_event("step", {})

    batch = log.take(last=True)
    assert log.number() == [] and log.unnumbered() == 0  # sealed: a reader leaves the rest to the table
    log.insert(batch)
    log.written(batch)

    assert late.id > reserved.id and log.last_id == late.id
    assert not log.listened()
