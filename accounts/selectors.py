"""Reads for accounts."""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from accounts.models import ApiToken
from core.rows import JoinedColumns, ModelColumns, fetch_one


def token_find(*, key_hash: str) -> ApiToken | None:
    """The token whose hash is ``key_hash``, with its user, whatever its
    state (``services.token_authenticate`` decides whether it is valid).

    Every API request makes this read, so it is one statement on the unique
    ``key_hash`` index, written once per process: built and compiled by the
    ORM on each request it cost ten times what the database takes to answer
    (docs/PERFORMANCE.md)."""
    sql, columns = _token_read()
    row = fetch_one(sql, [key_hash])
    if row is None:
        return None
    token, user = columns.instances(row)
    token.user = user
    return token


@functools.cache
def _token_read() -> tuple[str, JoinedColumns]:
    user_field = ApiToken._meta.get_field("user")
    columns = JoinedColumns(ModelColumns(ApiToken, "token"), ModelColumns(user_field.related_model, "owner"))
    quote = connection.ops.quote_name
    sql = (f"SELECT {columns.select()} "
           f"FROM {quote(ApiToken._meta.db_table)} {quote('token')} "
           f"INNER JOIN {quote(user_field.related_model._meta.db_table)} {quote('owner')} "
           f"ON {quote('owner')}.{quote(user_field.target_field.column)} = {quote('token')}.{quote(user_field.column)} "
           f"WHERE {quote('token')}.{quote(ApiToken._meta.get_field('key_hash').column)} = %s")
    return sql, columns


def token_list_for_user(*, user) -> QuerySet[ApiToken]:
    """``user``'s tokens, newest first."""
    return ApiToken.objects.filter(user=user)


def user_find(*, email: str | None = None, user_id=None, username: str | None = None):
    """An active user by id, email (case-insensitive) or username, or ``None``."""
    users = get_user_model().objects.filter(is_active=True)
    if user_id is not None:
        return users.filter(pk=user_id).first()
    if email:
        return users.filter(email__iexact=email).first()
    if username:
        # An exact username wins over another user's email that happens to match.
        return users.filter(username=username).first() or users.filter(email__iexact=username).first()
    return None
