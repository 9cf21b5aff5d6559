"""One way to validate input: DRF serializers, run by :func:`validated`.

Request bodies, config documents and import files are all described by
serializers (the ``inputs`` module of each app), which the services run and
the OpenAPI schema shows.  A service never trusts a view to have validated:
it calls :func:`validated` itself, and every problem comes back as one
``ValidationFailed`` whose ``errors`` map field paths (``config.tools[0].id``,
``agents[1].schedules[0].cron``) to messages.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.fields import empty

from core.errors import ValidationFailed, flatten_errors

UNKNOWN_FIELD = "Unknown field."


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a typo (``"temprature"``) is a 400
    rather than a setting silently ignored."""

    # (The docstring above is the OpenAPI description of every subclass without its own.)
    # Keys dropped instead of refused: a representation's read-only fields,
    # which a client may send back unchanged (a GET body edited and PATCHed).
    ignored_fields: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - set(self.ignored_fields))
            if unknown:
                raise serializers.ValidationError({key: [UNKNOWN_FIELD] for key in unknown})
            data = {key: value for key, value in data.items() if key not in self.ignored_fields}
        return super().to_internal_value(data)


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


class AsSentField:
    """A mixin for a DRF field whose ``rule`` sees the value exactly as sent,
    ``None`` included; DRF's own coercion (numbers to strings) and messages
    never run.  Mix it in before the DRF field class, which still gives the
    schema its type and limits; the field defines ``rule(value)``, returning
    the value to keep or raising ``serializers.ValidationError``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "rule", None)):
            raise TypeError(f"{cls.__name__} must define rule(value).")

    def run_validation(self, data=empty):
        if data is empty:
            return super().run_validation(data)  # required, or the default
        value = self.rule(data)
        self.run_validators(value)
        return value


def validated(serializer: serializers.BaseSerializer, *, prefix: str = ""):
    """``serializer``'s validated data, or ``ValidationFailed`` with every
    problem at its field path (under ``prefix``, e.g. ``config``)."""
    if not serializer.is_valid():
        raise ValidationFailed.from_errors(flatten_errors(serializer.errors, prefix))
    return serializer.validated_data
