"""Input and output shapes of the providers API.  The services validate;
these translate JSON and describe it for the OpenAPI schema."""

from rest_framework import serializers

from agents.models import ProviderKind
from agents.services.providers import FIELDS, MODEL_NAME_MAX, MODELS_MAX, NAME_MAX
from core.errors import ValidationFailed

# Fields of the representation a client may send back unchanged (say, a GET
# body edited and PATCHed); they are not writable, so they are ignored.
READ_ONLY_FIELDS = ("id", "has_api_key", "created_at", "updated_at")


class ProviderModelSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MODEL_NAME_MAX)
    input_per_million = serializers.FloatField(min_value=0, default=0, help_text="USD per million input tokens.")
    output_per_million = serializers.FloatField(min_value=0, default=0, help_text="USD per million output tokens.")


class ProviderSerializer(serializers.Serializer):
    """A provider as every caller sees it: never its API key."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    base_url = serializers.CharField(help_text="Empty: the SDK's default endpoint.")
    has_api_key = serializers.BooleanField()
    models = ProviderModelSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProviderWriteSerializer(serializers.Serializer):
    """The body of create and PATCH, for the schema; the services check it."""

    name = serializers.CharField(max_length=NAME_MAX,
                                 help_text="Letters, digits, - _ . ; unique (case-insensitive); not echo, "
                                           "openai or anthropic.")
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    base_url = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                     help_text="http(s) endpoint; must be a public address unless allowed by "
                                               "AGENTRY_ALLOWED_PRIVATE_HOSTS. Not for echo.")
    api_key = serializers.CharField(required=False, allow_blank=True, allow_null=True, write_only=True,
                                    help_text="Write-only. On PATCH: omit to keep, empty or null to clear.")
    models = ProviderModelSerializer(many=True, required=False, max_length=MODELS_MAX)


def raw_provider_fields(request_data) -> dict:
    """The body's provider fields as sent, for the services to check;
    representation-only fields are dropped, anything else is refused."""
    if not isinstance(request_data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(key for key in request_data if key not in FIELDS and key not in READ_ONLY_FIELDS)
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: Unknown field.", errors={key: ["Unknown field."] for key in unknown})
    return {key: value for key, value in request_data.items() if key in FIELDS}


class ProviderTestSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=MODEL_NAME_MAX, required=False,
                                  help_text="Defaults to the provider's first listed model.")


class UsageSerializer(serializers.Serializer):
    prompt = serializers.IntegerField()
    completion = serializers.IntegerField()


class ProviderTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    model = serializers.CharField()
    latency_ms = serializers.IntegerField()
    output = serializers.CharField(help_text="What the model answered (first 1000 characters).")
    usage = UsageSerializer()

