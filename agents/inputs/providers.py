"""The body of ``POST /providers`` and ``PATCH /providers/{provider}``: an LLM
provider's writable fields, as ``agents.services.providers`` checks them and
the OpenAPI schema shows them.

The fields check what they are sent themselves instead of through DRF's
coercions: a name sent as ``42`` is refused, not stored as ``"42"``, a price
is kept as sent (``10`` stays an integer), and each problem has one message.
The field classes stay DRF's (``CharField``, ``FloatField``) so that the
schema shows their types and limits.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from agents.models import ProviderKind
from agents.providers import BUILTIN_PROVIDERS, PROVIDER_NAME_RE
from agents.validation import UUID_LIKE_RE
from core import netguard
from core.validation import ObjectSerializer, StrictSerializer, ThoroughSerializer

NAME_MAX, BASE_URL_MAX, API_KEY_MAX = 64, 500, 4096
MODELS_MAX, MODEL_NAME_MAX, PRICE_MAX = 200, 200, 1_000_000
# Fields of the representation a client may send back unchanged (say, a GET
# body edited and PATCHed); they are not writable, so they are ignored.
READ_ONLY_FIELDS = ("id", "has_api_key", "created_at", "updated_at")
KIND_CHOICES = f"Must be one of {', '.join(ProviderKind.values)}."


def validate_provider_name(name) -> None:
    """A name agents' configs can use: not a built-in's, not UUID-like (ids and names share the path)."""
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        raise serializers.ValidationError(f"Must be 1–{NAME_MAX} characters.")
    if not PROVIDER_NAME_RE.match(name):
        raise serializers.ValidationError(
            "Use letters, digits, hyphens, underscores and dots, starting with a letter or digit.")
    if UUID_LIKE_RE.match(name):
        raise serializers.ValidationError("Cannot have the form of a UUID (ids and names share the path).")
    if name.lower() in BUILTIN_PROVIDERS:
        raise serializers.ValidationError(f"{name!r} is the name of a built-in provider.")


def validate_base_url(url: str) -> None:
    """An http(s) endpoint without credentials or fragment, at an address
    ``core.netguard`` lets the server call."""
    if len(url) > BASE_URL_MAX:
        raise serializers.ValidationError(f"Ensure this field has no more than {BASE_URL_MAX} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise serializers.ValidationError("Must not contain whitespace or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None  # check_url explains
    if parts is not None and (parts.username is not None or parts.password is not None):
        raise serializers.ValidationError("Must not carry credentials; set api_key instead.")
    if parts is not None and parts.fragment:
        raise serializers.ValidationError("Must not have a fragment.")
    try:
        netguard.check_url(url)
    except netguard.UnsafeUrl as exc:
        raise serializers.ValidationError(str(exc))


def _left_out(field: serializers.Field, data) -> bool:
    """Absent, or null on a create: either way "This field is required." (a PATCH skips what is absent)."""
    return data is empty or (data is None and not field.root.partial)


class ProviderNameField(serializers.CharField):
    """A provider's name, checked by :func:`validate_provider_name` (so not trimmed, nor taken from a number)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=NAME_MAX, **kwargs)

    def run_validation(self, data=empty):
        if _left_out(self, data):
            return super().run_validation(empty)
        validate_provider_name(data)
        return data


class ProviderKindField(serializers.ChoiceField):
    """One of ``ProviderKind``; null on a create is a missing kind, on PATCH a wrong one."""

    default_error_messages = {"invalid_choice": KIND_CHOICES, "null": KIND_CHOICES}

    def __init__(self, **kwargs):
        super().__init__(choices=ProviderKind.choices, **kwargs)

    def run_validation(self, data=empty):
        return super().run_validation(empty if _left_out(self, data) else data)


class TrimmedStringField(serializers.CharField):
    """A string, trimmed; null stands for ``""`` (an endpoint or key cleared)."""

    def run_validation(self, data=empty):
        if data is empty:
            return super().run_validation(data)  # left out: not changed
        if data is None:
            return ""
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        return data.strip()


class ModelNameField(serializers.CharField):
    """A model's name as the provider knows it, kept as sent: 1–200 characters, not all blank."""

    def __init__(self, **kwargs):
        super().__init__(max_length=MODEL_NAME_MAX, **kwargs)

    def run_validation(self, data=empty):
        # Required in a PATCH's models too: the list is replaced whole.
        if not isinstance(data, str) or not data.strip() or len(data) > MODEL_NAME_MAX:
            raise serializers.ValidationError(f"Must be 1–{MODEL_NAME_MAX} characters.")
        return data


class PriceField(serializers.FloatField):
    """USD per million tokens, from 0 to PRICE_MAX, kept as sent; 0 when left out (in a PATCH too)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=0, default=0, **kwargs)

    def run_validation(self, data=empty):
        if data is empty:
            return self.default
        if isinstance(data, bool) or not isinstance(data, (int, float)) or (
                isinstance(data, float) and not math.isfinite(data)):
            raise serializers.ValidationError("Must be a number.")
        if not 0 <= data <= PRICE_MAX:
            raise serializers.ValidationError(f"Must be between 0 and {PRICE_MAX}.")
        return data


class ProviderModelListSerializer(serializers.ListSerializer):
    """A provider's models, each name once."""

    default_error_messages = {"not_a_list": "Must be a list of objects.", "null": "Must be a list of objects.",
                              "max_length": "At most {max_length} models."}

    def to_internal_value(self, data):
        self.child.names = set()  # the names listed so far, for "Listed twice."
        return super().to_internal_value(data)


# The schema shows this class for the models of a provider's representation
# and of its body, without a description (not StrictSerializer's docstring).
@extend_schema_serializer(description="")
class ProviderModelSerializer(ThoroughSerializer):
    default_error_messages = {"invalid": "Must be an object with name, input_per_million and output_per_million."}

    name = ModelNameField()
    input_per_million = PriceField(help_text="USD per million input tokens.")
    output_per_million = PriceField(help_text="USD per million output tokens.")

    class Meta:
        list_serializer_class = ProviderModelListSerializer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = set()

    def validate_name(self, name):
        if name in self.names:
            raise serializers.ValidationError("Listed twice.")
        self.names.add(name)
        return name


class ProviderWriteSerializer(ObjectSerializer, StrictSerializer):
    """The body of create and PATCH, for the schema; the services check it."""

    # (The docstring above is this body's description in the OpenAPI document.)
    # Bound to the provider being changed (``instance``, with ``partial``) on
    # PATCH, and to nothing on create.
    default_error_messages = {"invalid": "Expected a JSON object."}
    ignored_fields = READ_ONLY_FIELDS

    name = ProviderNameField(help_text="Letters, digits, - _ . ; unique (case-insensitive); not echo, "
                                       "openai or anthropic.")
    kind = ProviderKindField()
    base_url = TrimmedStringField(required=False, allow_blank=True, allow_null=True,
                                  help_text="http(s) endpoint; must be a public address unless allowed by "
                                            "AGENTRY_ALLOWED_PRIVATE_HOSTS. Not for echo.")
    api_key = TrimmedStringField(required=False, allow_blank=True, allow_null=True, write_only=True,
                                 help_text="Write-only. On PATCH: omit to keep, empty or null to clear.")
    models = ProviderModelSerializer(many=True, required=False, max_length=MODELS_MAX)

    def _kind(self):
        """The kind the provider will have: the one sent (valid or not), else its current one."""
        return self.initial_data.get("kind", self.instance.kind if self.instance is not None else None)

    def validate_base_url(self, url):
        if self._kind() == ProviderKind.ECHO and url:
            raise serializers.ValidationError("The echo provider runs offline and takes no base_url.")
        if url and url != getattr(self.instance, "base_url", None):  # an unchanged URL was checked when it was set
            validate_base_url(url)
        return url

    def validate_api_key(self, key):
        # The key's value never goes in a message.
        if len(key) > API_KEY_MAX:
            raise serializers.ValidationError(f"Ensure this field has no more than {API_KEY_MAX} characters.")
        return key

    def validate(self, attrs):
        if "base_url" not in attrs and self._kind() == ProviderKind.ECHO and getattr(self.instance, "base_url", ""):
            attrs["base_url"] = ""  # switching to echo drops the endpoint it no longer uses
        return attrs
