"""The success envelope, ``{"data": ...}``, and its OpenAPI description."""

from __future__ import annotations

from functools import cache

from rest_framework import serializers
from rest_framework.response import Response


def data_response(data, *, status: int = 200, headers: dict | None = None) -> Response:
    return Response({"data": data}, status=status, headers=headers)


@cache
def enveloped(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A schema-only serializer ``{"data": <serializer_class>}`` for drf-spectacular."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return type(
        f"{name}EnvelopeSerializer",
        (serializers.Serializer,),
        {"data": serializer_class(), "__module__": serializer_class.__module__},
    )
