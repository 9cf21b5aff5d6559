"""Date-times from clients, made safe for every database we run on, and
date-times as the API writes them."""

from datetime import UTC, datetime

from rest_framework.settings import api_settings


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC when it carries an offset.  Python accepts offsets up
    to ±23:59 but PostgreSQL refuses those beyond ±15:59, so client values
    are converted before they reach a query.  Raises ``OverflowError`` when
    the conversion leaves the calendar (year 1 with a positive offset)."""
    return value.astimezone(UTC) if value.tzinfo is not None else value


def api_datetime(value: datetime | None) -> str | None:
    """``value`` as a DRF ``DateTimeField`` writes it under our settings (UTC,
    ``REST_FRAMEWORK["DATETIME_FORMAT"]``), for representations built by hand."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime(api_settings.DATETIME_FORMAT)
