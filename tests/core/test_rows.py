"""core.rows.ModelColumns builds the instance the ORM would build from the
same row, each column converted as the ORM converts it; ``insert`` and
``update`` write what the ORM would write; on either database."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import token_create
from core import rows
from core.rows import ModelColumns, row_by
from executions.models import Execution, ExecutionEvent, ExecutionStatus


def _field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_an_instance_from_its_columns_is_the_orms(db, user):
    token, _raw = token_create(user=user, name="cli", scopes=["agents:read"],
                               expires_at=timezone.now() + timedelta(days=3))
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    columns = ModelColumns(ApiToken, "t")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns.select()} FROM {quote(ApiToken._meta.db_table)} {quote('t')}")
        row = cursor.fetchone()

    built, orms = columns.instance(row), ApiToken.objects.get(pk=token.pk)

    assert _field_values(built) == _field_values(orms)
    assert {name: type(value) for name, value in _field_values(built).items()} \
        == {name: type(value) for name, value in _field_values(orms).items()}
    assert built.scopes == ["agents:read"] and timezone.is_aware(built.created_at)
    assert built._state.adding is False and built._state.db == connection.alias
    built.name = "renamed"
    built.save(update_fields=["name"])  # a saved instance, as from the ORM: an UPDATE, not an INSERT
    assert ApiToken.objects.get(pk=token.pk).name == "renamed"


def test_nulls_stay_none(db, user):
    token, _raw = token_create(user=user, name="plain", scopes=["agents:read"])
    columns = ModelColumns(ApiToken, "t")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns.select()} FROM {quote(ApiToken._meta.db_table)} {quote('t')}")
        built = columns.instance(cursor.fetchone())

    assert built.pk == token.pk and built.expires_at is None and built.last_used_at is None


def test_row_by_finds_one_row_by_a_unique_field_or_none(db, user, django_assert_num_queries):
    token, _raw = token_create(user=user, name="by-id", scopes=["agents:read"])

    with django_assert_num_queries(1):
        found = row_by(ApiToken, "id", token.pk)
    assert _field_values(found) == _field_values(ApiToken.objects.get(pk=token.pk))
    assert row_by(ApiToken, "key_hash", token.key_hash).pk == token.pk
    assert row_by(ApiToken, "key_hash", "no such hash") is None
    assert row_by(ApiToken, "id", str(token.pk)).pk == token.pk  # prepared as the field prepares it


# --- writing ----------------------------------------------------------------------------------

def _execution(agent, **fields) -> Execution:
    now = timezone.now()
    return Execution(agent=agent, status=ExecutionStatus.RUNNING, input={"message": "hé", "n": [1, 2.5, None]},
                     options={"trace": True}, timeout_ms=30_000, requested_by=agent.owner, created_at=now,
                     started_at=now, heartbeat_at=now, worker="host:1", **fields)


def test_an_inserted_row_reads_back_as_the_orm_writes_it(db, user, make_agent, django_assert_num_queries):
    agent = make_agent(user)
    ours, orms = _execution(agent), _execution(agent)

    with django_assert_num_queries(1):
        rows.insert(Execution, [ours])
    orms.save()

    assert ours._state.adding is False and ours._state.db == connection.alias
    stored, expected = (_field_values(Execution.objects.get(pk=e.pk)) for e in (ours, orms))
    differing = {"id", "created_at", "started_at", "heartbeat_at"}  # their own values, compared below
    assert {k: v for k, v in stored.items() if k not in differing} \
        == {k: v for k, v in expected.items() if k not in differing}
    assert stored["started_at"] == ours.started_at and timezone.is_aware(stored["started_at"])
    assert stored["input"] == {"message": "hé", "n": [1, 2.5, None]} and stored["cost_usd"] == Decimal("0")
    ours.worker = "elsewhere"
    ours.save(update_fields=["worker"])  # a saved instance: an UPDATE, not a second INSERT
    assert Execution.objects.get(pk=ours.pk).worker == "elsewhere"


def test_rows_the_database_numbers_get_their_ids(db, user, make_agent, django_assert_num_queries):
    execution = _execution(make_agent(user))
    rows.insert(Execution, [execution])
    given = ExecutionEvent(id=10_000, execution=execution, kind="status", data={"status": "running"})
    unnumbered = [ExecutionEvent(execution=execution, kind="step", data={"i": i}) for i in range(3)]

    with django_assert_num_queries(2):  # those with an id, then those without, RETURNING theirs
        rows.insert(ExecutionEvent, [unnumbered[0], given, *unnumbered[1:]])

    assert given.id == 10_000 and all(event.id for event in unnumbered)
    stored = dict(ExecutionEvent.objects.filter(execution=execution).values_list("id", "data"))
    assert stored == {10_000: {"status": "running"}, **{event.id: {"i": i} for i, event in enumerate(unnumbered)}}


def test_many_rows_are_split_to_the_databases_parameter_limit(db, user, make_agent):
    execution = _execution(make_agent(user))
    rows.insert(Execution, [execution])
    events = [ExecutionEvent(execution=execution, kind="delta", data={"i": i}) for i in range(1_200)]

    rows.insert(ExecutionEvent, events)  # 6,000 parameters: SQLite takes 999 a statement

    assert len({event.id for event in events}) == 1_200
    assert list(ExecutionEvent.objects.filter(execution=execution).order_by("id").values_list("data", flat=True)) \
        == [{"i": i} for i in range(1_200)]


def test_a_violated_constraint_raises_djangos_integrity_error_and_keeps_the_transaction(db, user, make_agent):
    execution = _execution(make_agent(user))
    rows.insert(Execution, [execution])

    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.insert(Execution, [_execution(execution.agent, id=execution.pk)])
        assert Execution.objects.filter(pk=execution.pk).count() == 1  # the outer transaction is still usable


def test_update_sets_fields_only_where_the_conditions_hold(db, user, make_agent, django_assert_num_queries):
    execution = _execution(make_agent(user))
    rows.insert(Execution, [execution])
    finished = timezone.now()

    with django_assert_num_queries(1):
        changed = rows.update(Execution, str(execution.pk), {
            "status": ExecutionStatus.SUCCEEDED, "output": {"text": "ok"}, "finished_at": finished,
            "cost_usd": Decimal("0.000125"), "error": None}, status=ExecutionStatus.RUNNING)
    again = rows.update(Execution, execution.pk, {"status": ExecutionStatus.FAILED}, status=ExecutionStatus.RUNNING)

    assert (changed, again) == (1, 0)
    stored = Execution.objects.get(pk=execution.pk)
    assert (stored.status, stored.output, stored.finished_at, stored.cost_usd, stored.error) \
        == (ExecutionStatus.SUCCEEDED, {"text": "ok"}, finished, Decimal("0.000125"), None)
    assert rows.update(Execution, uuid.uuid4(), {"status": ExecutionStatus.FAILED}) == 0


def test_values_where_reads_some_fields_of_one_row_as_the_orm_converts_them(db, user, make_agent,
                                                                            django_assert_num_queries):
    execution = _execution(make_agent(user))
    rows.insert(Execution, [execution])

    with django_assert_num_queries(1):
        found = rows.values_where(Execution, ("input", "started_at", "status"), agent=execution.agent_id,
                                  id=str(execution.pk))

    assert found == list(Execution.objects.filter(pk=execution.pk).values_list("input", "started_at", "status")[0])
    assert timezone.is_aware(found[1]) and found[0] == {"message": "hé", "n": [1, 2.5, None]}
    assert rows.values_where(Execution, ("status",), agent=execution.agent_id, id=uuid.uuid4()) is None


def test_count_where_counts_the_rows_whose_fields_match(db, user, make_agent, django_assert_num_queries):
    agent, other = make_agent(user), make_agent(user)
    executions = [_execution(agent), _execution(agent), _execution(other)]
    executions[1].status = ExecutionStatus.FAILED
    rows.insert(Execution, executions)

    with django_assert_num_queries(1):
        assert rows.count_where(Execution, agent=agent.pk) == 2
    assert rows.count_where(Execution, agent=agent.pk, status=ExecutionStatus.FAILED) == 1
    assert rows.count_where(Execution, agent=uuid.uuid4()) == 0
    assert rows.count_where(Execution) == Execution.objects.count() == 3


def test_exists_where_says_whether_a_row_matches(db, user, make_agent, django_assert_num_queries):
    agent = make_agent(user)
    rows.insert(Execution, [_execution(agent)])

    with django_assert_num_queries(1):
        assert rows.exists_where(Execution, agent=agent.pk) is True
    assert rows.exists_where(Execution, agent=agent.pk, status=ExecutionStatus.FAILED) is False
    assert rows.exists_where(Execution, agent=uuid.uuid4()) is False
