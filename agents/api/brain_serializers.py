"""Shapes of the brain endpoints (config, model, settings) and the wizard.

Request bodies are validated by the services (``agents.services.brain`` and
``agents.services.wizard``), whose serializers also describe them here.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.config import AgentConfigSerializer, ModelRefSerializer, ModelSerializer
from agents.services.brain import AgentModelChangeSerializer, AgentSettingsSerializer  # noqa: F401
from agents.services.wizard import WizardSerializer  # noqa: F401


@extend_schema_field(ModelSerializer())
class _ModelField(serializers.DictField):
    """A stored model reference, rendered as it is."""


@extend_schema_field(ModelRefSerializer(many=True))
class _FallbacksField(serializers.ListField):
    """The stored fallback list, rendered as it is."""


@extend_schema_field(AgentConfigSerializer())
class _ConfigField(serializers.DictField):
    """The public config (secrets masked), rendered as it is."""


class AgentBrainConfigSerializer(serializers.Serializer):
    """``GET /agents/{agent}/config``."""

    agent_name = serializers.CharField()
    agent_type = serializers.ChoiceField(choices=["pipeline", "function-calling"],
                                         help_text="pipeline when the agent's pipeline has nodes.")
    is_running = serializers.BooleanField()
    deployed_version = serializers.IntegerField(allow_null=True)
    redeploy_required = serializers.BooleanField(
        help_text="Running with a deployed version whose models differ from the working config's.")
    config = _ConfigField(help_text="The working config; secrets masked.")
    primary_model = _ModelField()
    fallback_models = _FallbacksField()


class AgentModelSerializer(serializers.Serializer):
    """The answer of ``PATCH /agents/{agent}/model``."""

    model = _ModelField()
    fallback_models = _FallbacksField()
    redeploy_required = serializers.BooleanField(
        help_text="The agent is running another model; POST /agents/{agent}/redeploy to switch.")


class WizardSeedCountsSerializer(serializers.Serializer):
    memory = serializers.IntegerField()
    rules = serializers.IntegerField()
    skills = serializers.IntegerField()
    tasks = serializers.IntegerField()


class WizardResultSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField(help_text="The agent's id (seed 004's name for it).")
    agent_id = serializers.UUIDField()
    slug = serializers.CharField()
    seed_counts = WizardSeedCountsSerializer()
    operating_prompt_id = serializers.CharField(allow_null=True)
