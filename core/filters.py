"""Filters shared by the list endpoints, and the filter backend they go through."""

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


def filters_given(query_params, filterset_class) -> bool:
    """Whether the query gives a value to any of the filterset's filters (a
    range filter's suffixed parameters, ``created_after`` say, included)."""
    names = tuple(filterset_class.base_filters)
    return any(value and any(param == name or param.startswith(f"{name}_") for name in names)
               for param, value in query_params.items())


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, which builds and validates a form per request;
    skipped when the query gives none of the filters a value, the common case
    of a plain list, where the filterset would return the queryset as it is."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not filters_given(request.query_params, filterset_class):
            return queryset
        return super().filter_queryset(request, queryset, view)
