"""The driver's database work for one turn, run here (not on the server) so
its queries can be counted: what comes before the model's first token is the
turn's added latency (docs/PERFORMANCE.md)."""

import re

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, RuntimeState
from executions import live
from executions.conversations import answer as answering
from executions.conversations import context, driver
from executions.conversations.driver import drive
from executions.conversations.lease import driver_claim, driver_name
from executions.conversations.models import Message, MessageRole, MessageStatus, Thread
from executions.models import Execution, ExecutionStatus, Trigger
from executions.services import execute
from executions.services.event_ids import event_ids_reserve
from tests.executions.conftest import input_node, llm_node, output_node, pipeline
from tests.executions.conversations.conftest import wait_idle
from tests.trips import count_trips


def _reserves_event_ids(sql: str) -> bool:
    """The statement that reserves a block of event ids (``event_ids``)."""
    return "sqlite_sequence" in sql or "nextval(" in sql


def _table(sql: str) -> str:
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
    return match.group(1) if match else ""


@pytest.fixture
def pending_turn(make_chat_agent, user):
    agent = make_chat_agent(user, name="Counted")
    thread = Thread.objects.create(agent=agent, created_by=user)
    message = Message.objects.create(thread=thread, role=MessageRole.USER, content="Hello there",
                                     status=MessageStatus.PENDING)
    name = driver_name()
    assert driver_claim(thread.pk, name)
    return thread, message, name


@pytest.mark.django_db(transaction=True)
def test_a_turn_reads_its_agent_and_execution_once_before_the_model(pending_turn, settings):
    thread, message, name = pending_turn
    # No journal flush or watchdog tick mid-turn: their queries come when the machine is slow.
    settings.AGENTRY_CHAT_FLUSH_SECONDS = settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60
    event_ids_reserve(1)  # SQLite's counter exists, as on any database that has stored an event
    with CaptureQueriesContext(connection) as queries:
        async_to_sync(drive)(thread.pk, name)

    # the turn was answered
    execution = Execution.objects.get(agent=thread.agent)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT, status=MessageStatus.COMPLETED).exists()
    statements = [query["sql"] for query in queries.captured_queries
                  if not re.match(r"(BEGIN|COMMIT|SAVEPOINT|RELEASE)\b", query["sql"])]
    # Event ids are reserved up front only when someone may be listening: with a shared channel
    # layer (Redis) anyone anywhere may be, so one block is; with none, the database numbers them.
    reservations = [sql for sql in statements if _reserves_event_ids(sql)]
    assert len(reservations) == (1 if live.shared() else 0), reservations
    statements = [sql for sql in statements if not _reserves_event_ids(sql)]
    # Before the model is called: the agent comes with the pending message,
    # and the execution just written is not read back.
    # The run starts without a trip to the database: its provider is read with the execution.
    skills_read = next(i for i, sql in enumerate(statements) if _table(sql) == "agents_agentskill")
    assert [_table(sql) for sql in statements[:skills_read + 2]] == [
        "conversations_thread",     # the last stored event's seq
        "conversations_message",    # the pending message, its thread, agent and creator
        "conversations_message",    # the message joins the conversation
        "agents_agentversion",      # the deployed definition
        "executions_execution",     # the execution, inserted
        "conversations_thread",     # the thread's active execution
        "knowledge_document",       # whether knowledge_search is offered
        "executions_provider",      # the model's provider
        "executions_memory",        # the memories bearing on the message: rules ...
        "executions_memory",        # ... and the rest
        "conversations_message",    # the history
        "agents_agentskill",        # the skills
        "executions_execution",     # after the model: the outcome, not read back
    ]
    assert len(statements) == 23, "\n".join(statements)  # the whole turn, from the lease to letting it go
    releases = [sql for sql in statements if sql.startswith('UPDATE "conversations_thread" SET "driver" = \'\'')]
    assert len(releases) == 1, releases  # the lease is let go once


@pytest.fixture
def trips(monkeypatch) -> list[str]:
    """The names of the functions the driver, the turn's context and the run send to the database thread."""
    return count_trips(monkeypatch, driver, answering, context, execute)


@pytest.mark.django_db(transaction=True)
def test_a_turn_makes_one_trip_to_the_database_thread_before_the_model(pending_turn, settings, trips):
    thread, message, name = pending_turn
    settings.AGENTRY_CHAT_FLUSH_SECONDS = settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60
    async_to_sync(drive)(thread.pk, name)

    assert Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT, status=MessageStatus.COMPLETED).exists()
    # The lease's reads with the message joining and its execution started, with everything the turn and its
    # run read; a run someone may follow (a shared channel layer) reserves its event ids in one more.
    before_model, after_model = trips[:trips.index("_finish")], trips[trips.index("_finish"):]
    assert before_model == ["_opening", *(["_start_run"] if live.shared() else [])], trips
    # After it: the run's end with its outcome, the answer; then the journal is stored with the next message
    # looked for, and, none pending, stored again with the lease let go and one last look.  On PostgreSQL
    # the driver has a thread of its own, whose connection it closes.
    assert after_model == ["_finish", "_store_answer", "_turn_over", "_let_go",
                           *(["close_all"] if connection.vendor == "postgresql" else [])], trips


@pytest.mark.django_db(transaction=True)
def test_a_message_starts_its_driver_and_its_turn_so_the_model_is_called_without_a_trip(make_chat_agent, user,
                                                                                         settings, trips):
    settings.AGENTRY_CHAT_FLUSH_SECONDS = settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60
    thread = Thread.objects.create(agent=make_chat_agent(user, name="Opened"), created_by=user)
    message = Message.objects.create(thread=thread, role=MessageRole.USER, content="Hello there",
                                     status=MessageStatus.PENDING)
    event_ids_reserve(1)  # SQLite's counter exists, as on any database that has stored an event
    with CaptureQueriesContext(connection) as queries:
        assert driver.driver_ensure(thread.pk) is True
    # The lease, what the driver opens with (the message joins the conversation), then the turn's start,
    # all here, in the caller's trip: the execution is written and points the thread at it.
    tables = [_table(query["sql"]) for query in queries.captured_queries if not _reserves_event_ids(query["sql"])]
    assert tables[:6] == ["conversations_thread", "conversations_thread", "conversations_message",
                          "conversations_message", "agents_agentversion", "executions_execution"], tables
    assert tables[-1] == "agents_agentskill", tables  # the last of the turn's context reads
    message.refresh_from_db()
    assert message.status == MessageStatus.COMPLETED
    thread.refresh_from_db()
    started = Execution.objects.get(agent=thread.agent)
    assert thread.active_execution_id == started.pk and started.trigger == Trigger.CHAT

    wait_idle(thread.pk)
    assert Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT, status=MessageStatus.COMPLETED,
                                  execution=started).exists()
    before_model = trips[:trips.index("_finish")]
    assert before_model == (["_start_run"] if live.shared() else []), trips
    assert driver.driver_ensure(thread.pk) is True and wait_idle(thread.pk)  # nothing pending: it lets go at once


@pytest.mark.django_db(transaction=True)
def test_a_message_taken_while_others_wait_for_the_thread_starts_its_turn_in_a_trip_of_its_own(
        make_chat_agent, user, settings, trips, monkeypatch):
    # Under load the caller's trip takes the message only; the calls queued behind it do not wait
    # for the turn's start, which the turn makes from the turn loop (core.shared_thread).
    settings.AGENTRY_CHAT_FLUSH_SECONDS = settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60
    monkeypatch.setattr(answering, "others_waiting", lambda: True)
    thread = Thread.objects.create(agent=make_chat_agent(user, name="Queued"), created_by=user)
    message = Message.objects.create(thread=thread, role=MessageRole.USER, content="Hello there",
                                     status=MessageStatus.PENDING)
    event_ids_reserve(1)
    with CaptureQueriesContext(connection) as queries:
        assert driver.driver_ensure(thread.pk) is True
    # The lease and the opening reads, the message joining: no execution written in the caller's trip.
    tables = [_table(query["sql"]) for query in queries.captured_queries if not _reserves_event_ids(query["sql"])]
    assert tables == ["conversations_thread", "conversations_thread", "conversations_message",
                      "conversations_message"], tables
    message.refresh_from_db()
    assert message.status == MessageStatus.COMPLETED  # it joined the conversation

    wait_idle(thread.pk)
    started = Execution.objects.get(agent=thread.agent)
    assert started.trigger == Trigger.CHAT and started.status == ExecutionStatus.SUCCEEDED
    assert Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT, status=MessageStatus.COMPLETED,
                                  execution=started).exists()
    before_model = trips[:trips.index("_finish")]
    assert before_model == ["turn_started", *(["_start_run"] if live.shared() else [])], trips
    kinds = list(thread.events.order_by("seq").values_list("event", flat=True))
    assert kinds[0] == "thread.message.created" and kinds[-1] == "thread.run.completed", kinds


@pytest.mark.django_db(transaction=True)
def test_a_message_stored_as_the_driver_lets_go_is_answered_by_it(pending_turn, settings, monkeypatch):
    # Its request found the lease taken, so started no driver: the driver's last look finds it, and it claims again.
    thread, message, name = pending_turn
    settings.AGENTRY_CHAT_FLUSH_SECONDS = settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60
    release, late = driver.driver_release, []

    def release_after_a_message_came(thread_id, holder):
        if not late:
            late.append(Message.objects.create(thread_id=thread_id, role=MessageRole.USER, content="One more thing",
                                               status=MessageStatus.PENDING))
        release(thread_id, holder)

    monkeypatch.setattr(driver, "driver_release", release_after_a_message_came)
    async_to_sync(drive)(thread.pk, name)

    late[0].refresh_from_db()
    assert late[0].status == MessageStatus.COMPLETED
    answers = Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT, status=MessageStatus.COMPLETED)
    assert answers.count() == 2
    thread.refresh_from_db()
    assert (thread.driver, thread.driver_seen_at, thread.message_count) == ("", None, 4)
    assert not Message.objects.filter(thread=thread, status=MessageStatus.PENDING).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("busy", [False, True], ids=["in-the-callers-trip", "in-its-own-trip"])
def test_a_turn_whose_execution_cannot_start_fails_with_its_problem(make_chat_agent, user, settings, trips,
                                                                    monkeypatch, busy):
    # The deployed pipeline asks for an input a chat message does not give: execution_start refuses it
    # in the trip that takes the message (the caller's), or, when others wait for the database thread,
    # in the turn's own; either way the turn ends with that problem on the turn loop, no execution written.
    monkeypatch.setattr(answering, "others_waiting", lambda: busy)
    strict = pipeline(input_node({"type": "object", "properties": {"topic": {"type": "string"}},
                                  "required": ["topic"]}), llm_node(), output_node(),
                      edges=[("input", "llm"), ("llm", "output")])
    agent = make_chat_agent(user, name="Strict", pipeline=strict)
    thread = Thread.objects.create(agent=agent, created_by=user)
    Message.objects.create(thread=thread, role=MessageRole.USER, content="Hello there", status=MessageStatus.PENDING)

    assert driver.driver_ensure(thread.pk) is True
    wait_idle(thread.pk)

    answer = Message.objects.get(thread=thread, role=MessageRole.ASSISTANT)
    assert answer.status == MessageStatus.FAILED and answer.error["code"] == "validation_error"
    assert not Execution.objects.filter(agent=agent).exists()
    assert "_finish" not in trips  # no run
    kinds = list(thread.events.order_by("seq").values_list("event", flat=True))
    assert kinds == ["thread.message.created", "thread.run.failed"]


@pytest.mark.django_db(transaction=True)
def test_a_crash_starting_a_turn_in_the_callers_trip_fails_the_turn_on_the_turn_loop(make_chat_agent, user,
                                                                                   monkeypatch, caplog):
    # The caller (a chat request) gets its answer; the crash is the driver's to report, as it was its own.
    thread = Thread.objects.create(agent=make_chat_agent(user, name="Crashing"), created_by=user)
    Message.objects.create(thread=thread, role=MessageRole.USER, content="Hello there", status=MessageStatus.PENDING)

    def crash(agent, thread, message):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(answering, "_start_execution", crash)
    assert driver.driver_ensure(thread.pk) is True
    wait_idle(thread.pk)

    answer = Message.objects.get(thread=thread, role=MessageRole.ASSISTANT)
    assert (answer.status, answer.error["code"]) == (MessageStatus.FAILED, "server_error")
    kinds = list(thread.events.order_by("seq").values_list("event", flat=True))
    assert kinds == ["thread.message.created", "thread.run.failed"]
    crashed = [record for record in caplog.records if record.getMessage().startswith("Chat turn for message")]
    assert len(crashed) == 1 and "the disk is full" in str(crashed[0].exc_info[1])
    thread.refresh_from_db()
    assert thread.driver == ""  # the lease let go


@pytest.mark.django_db(transaction=True)
def test_a_turn_whose_agent_was_stopped_before_it_was_taken_fails_without_an_execution(pending_turn, settings):
    # A message queued behind another turn is taken later; by then its agent may be stopped.
    thread, message, name = pending_turn
    settings.AGENTRY_CHAT_FLUSH_SECONDS = settings.AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 60
    Agent.objects.filter(pk=thread.agent_id).update(runtime_state=RuntimeState.STOPPED)
    async_to_sync(drive)(thread.pk, name)

    answer = Message.objects.get(thread=thread, role=MessageRole.ASSISTANT)
    assert (answer.status, answer.error["code"]) == (MessageStatus.FAILED, "agent_not_running")
    assert "it is stopped" in answer.error["message"]
    assert not Execution.objects.filter(agent_id=thread.agent_id).exists()


class _Recorder:
    model_used = ("fake", "gpt-main")


@pytest.mark.django_db
def test_the_outcome_of_a_run_this_turn_settled_is_the_row_in_hand(make_chat_agent, user,
                                                                    django_assert_num_queries):
    execution = Execution(agent=make_chat_agent(user), status=ExecutionStatus.SUCCEEDED, output="hi")

    with django_assert_num_queries(0):
        outcome = answering._outcome(execution, _Recorder())

    assert outcome == (execution, "fake", "gpt-main")


@pytest.mark.django_db
def test_the_outcome_of_a_run_someone_else_settled_is_read(make_chat_agent, user):
    agent = make_chat_agent(user)
    execution = Execution.objects.create(agent=agent, status=ExecutionStatus.RUNNING, timeout_ms=1000)
    execution.steps.create(sequence=1, node_id="a", node_type="llm", provider="first", model="m-1")
    execution.steps.create(sequence=2, node_id="b", node_type="llm", provider="second", model="m-2")
    execution.steps.create(sequence=3, node_id="out", node_type="output")
    Execution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.FAILED, error={"code": "reaped"})

    read, provider, model = answering._outcome(execution, _Recorder())  # in hand, it is still running

    assert (read.status, read.error, provider, model) == (ExecutionStatus.FAILED, {"code": "reaped"}, "second", "m-2")
