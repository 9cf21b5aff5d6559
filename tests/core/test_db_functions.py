"""``core.db.functions.UtcDate``: the UTC day of a date-time, as Django's
``TruncDate(tzinfo=UTC)`` gives it, on SQLite without a Python function per row."""

from datetime import UTC, date, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext

from core.db.functions import UtcDate

INSTANTS = {
    "last": datetime(2026, 3, 3, 23, 59, 59, 999999, tzinfo=UTC),
    "first": datetime(2026, 3, 4, 0, 0, tzinfo=UTC),
    "noon": datetime(2026, 3, 4, 12, 0, 0, 1, tzinfo=UTC),
    "leap": datetime(2028, 2, 29, 23, 0, tzinfo=UTC),
}


@pytest.fixture
def users(make_user):
    for name, instant in INSTANTS.items():
        make_user(name)
        get_user_model().objects.filter(username=name).update(date_joined=instant)
    return get_user_model().objects.filter(username__in=INSTANTS)


def test_each_instant_falls_on_its_utc_day_as_truncdate_says(users):
    days = dict(users.annotate(day=UtcDate("date_joined")).values_list("username", "day"))
    assert days == {"last": date(2026, 3, 3), "first": date(2026, 3, 4), "noon": date(2026, 3, 4),
                    "leap": date(2028, 2, 29)}
    assert days == dict(users.annotate(day=TruncDate("date_joined", tzinfo=UTC)).values_list("username", "day"))


def test_rows_group_by_it(users):
    per_day = list(users.annotate(day=UtcDate("date_joined")).values("day").annotate(n=Count("pk")).order_by("day"))
    assert per_day == [{"day": date(2026, 3, 3), "n": 1}, {"day": date(2026, 3, 4), "n": 2},
                       {"day": date(2028, 2, 29), "n": 1}]


def test_sqlite_runs_its_own_date_function(users):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's form; other databases run TruncDate's own SQL")
    with CaptureQueriesContext(connection) as queries:
        list(users.annotate(day=UtcDate("date_joined")).values_list("day", flat=True))
    (sql,) = [query["sql"] for query in queries.captured_queries]
    assert 'date("accounts_user"."date_joined")' in sql
    assert "django_datetime_cast_date" not in sql
