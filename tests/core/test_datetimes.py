"""``api_datetime`` writes what a DRF ``DateTimeField`` writes under our settings."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework import serializers

from core.datetimes import api_datetime

DRF = serializers.DateTimeField()


@pytest.mark.parametrize("value", [
    datetime(2026, 12, 2, 19, 45, 7, 123456, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # converted to UTC
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8))),
])
def test_it_writes_what_the_drf_field_writes(value):
    assert api_datetime(value) == DRF.to_representation(value)
    assert api_datetime(value).endswith("Z")


def test_none_stays_none():
    assert api_datetime(None) is None
