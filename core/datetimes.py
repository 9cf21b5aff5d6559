"""Date-times from clients, made safe for every database we run on."""

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC when it carries an offset.  Python accepts offsets up
    to ±23:59 but PostgreSQL refuses those beyond ±15:59, so client values
    are converted before they reach a query.  Raises ``OverflowError`` when
    the conversion leaves the calendar (year 1 with a positive offset)."""
    return value.astimezone(UTC) if value.tzinfo is not None else value
