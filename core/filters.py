"""Filters shared by the list endpoints."""

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from core.datetimes import as_utc


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time normalised to UTC (``core.datetimes.as_utc``);
    one that leaves the calendar when converted is a 400."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return as_utc(parsed)
        except OverflowError:
            raise forms.ValidationError("Enter a date-time within the supported range.") from None


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
