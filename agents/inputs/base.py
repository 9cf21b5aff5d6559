"""Bases for input serializers that check JSON documents whole (providers,
imported agent documents): every problem of an object is named at once, and
a null where an object belongs is refused like any other non-object."""

from __future__ import annotations

from rest_framework import serializers

from core.validation import UNKNOWN_FIELD, StrictSerializer


class ObjectSerializer(serializers.Serializer):
    """A serializer whose input must be a JSON object: ``null`` gets the
    ``invalid`` message, as a list or a string does (DRF would say "No data
    provided" at the top and "This field may not be null." in a list)."""

    def validate_empty_values(self, data):
        if data is None:
            return False, data  # to_internal_value refuses it as "invalid"
        return super().validate_empty_values(data)


class ThoroughSerializer(ObjectSerializer, StrictSerializer):
    """A StrictSerializer that names unknown keys together with the known
    fields' problems rather than instead of them, so one answer lists all that
    is wrong with an item of a document (and refuses null as ObjectSerializer does)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            return super().to_internal_value(data)
        known = {key: value for key, value in data.items() if key in self.fields or key in self.ignored_fields}
        unknown = {key: [UNKNOWN_FIELD] for key in sorted(set(data) - set(known))}
        try:
            value = super().to_internal_value(known)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**unknown, **exc.detail})
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
