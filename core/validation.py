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


def validated(serializer: serializers.BaseSerializer, *, prefix: str = ""):
    """``serializer``'s validated data, or ``ValidationFailed`` with every
    problem at its field path (under ``prefix``, e.g. ``config``)."""
    if not serializer.is_valid():
        raise ValidationFailed.from_errors(flatten_errors(serializer.errors, prefix))
    return serializer.validated_data
