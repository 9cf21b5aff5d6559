"""core.rows.ModelColumns builds the instance the ORM would build from the
same row, each column converted as the ORM converts it, on either database."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import token_create
from core.rows import ModelColumns, row_by


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
