"""The bodies of ``PATCH /agents/{agent}/model`` and ``/settings``: the
agent's brain, in the config's own terms or seed 002's shorthand."""

from rest_framework import serializers

from agents.config import ModelParamsSerializer, ModelRefSerializer
from core.validation import StrictSerializer


class AgentModelChoiceSerializer(ModelRefSerializer):
    params = ModelParamsSerializer(required=False, help_text=(
        "Replaces the model's params when given (absent keys take their defaults); "
        "leave it out to keep the current ones."))


class AgentModelChangeSerializer(StrictSerializer):
    """The body of ``PATCH /agents/{agent}/model``: either key, or both."""

    model = AgentModelChoiceSerializer(required=False, help_text="The primary model.")
    fallback_models = ModelRefSerializer(many=True, required=False, max_length=10,
                                         help_text="Tried in order when the primary fails; replaces the list.")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send model, fallback_models or both.")
        return attrs


class AgentSettingsSerializer(StrictSerializer):
    """Seed 002's shorthand for ``config.model``: provider, model and temperature."""

    llm_provider = serializers.CharField(max_length=100, help_text="config.model.provider")
    llm_model = serializers.CharField(max_length=200, help_text="config.model.model")
    llm_temperature = serializers.FloatField(min_value=0, max_value=2, help_text="config.model.params.temperature")
    redeploy_required = serializers.BooleanField(
        read_only=True, help_text="The agent is running a deployed version with another model; "
                                  "POST /agents/{agent}/redeploy to use this one.")
