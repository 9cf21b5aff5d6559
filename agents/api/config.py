"""The agent's brain: ``/agents/{agent}/config``, ``/model`` and ``/settings``.

Writes change the working config only: a running agent keeps its deployed
version until ``POST /agents/{agent}/redeploy`` (API.md §7); answers say so
in ``redeploy_required``.  The services (``agents.services.config``)
validate the bodies with ``agents.inputs.config``, which also describes them
here.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets

from accounts.roles import Role
from agents import services
from agents.api.base import AGENT_PATH, IF_MATCH, AgentScopedViewMixin, agent_rule
from agents.config import AgentConfigSerializer, ModelRefSerializer, ModelSerializer, public_config
from agents.inputs.config import AgentModelChangeSerializer, AgentSettingsSerializer
from agents.models import RuntimeState
from agents.selectors import agent_settings, redeploy_required
from agents.services.config import agent_model_set, agent_settings_set
from core.envelope import data_response, enveloped
from core.etags import if_match_values


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


PRECONDITION_FAILED = OpenApiResponse(description="If-Match does not match the agent's current ETag.")
REDEPLOY_NOTE = ("Changes the working config only; a running agent keeps its deployed version until "
                 "POST /agents/{agent}/redeploy (see redeploy_required). The ETag header is the agent's.")


def _config_view(agent) -> dict:
    config = public_config(agent.config)
    return {
        "agent_name": agent.name,
        "agent_type": "pipeline" if (agent.pipeline or {}).get("nodes") else "function-calling",
        "is_running": agent.runtime_state == RuntimeState.RUNNING,
        "deployed_version": agent.deployed_version,
        "redeploy_required": redeploy_required(agent),
        "config": config,
        "primary_model": config.get("model"),
        "fallback_models": config.get("fallback_models", []),
    }


class AgentBrainViewSet(AgentScopedViewMixin, viewsets.ViewSet):
    """``/agents/{agent}/config``, ``/model`` and ``/settings``."""

    agent_representation = False
    rules = {
        "config_retrieve": agent_rule(Role.VIEWER),
        "model_update": agent_rule(Role.ADMIN),
        "settings_retrieve": agent_rule(Role.VIEWER),
        "settings_update": agent_rule(Role.ADMIN),
        "settings_partial_update": agent_rule(Role.ADMIN),
    }

    def _etag(self, agent) -> dict:
        return {"ETag": services.agent_etag(agent)}

    @extend_schema(summary="The agent's brain: working config, models and runtime state", parameters=[AGENT_PATH],
                   responses=OpenApiResponse(enveloped(AgentBrainConfigSerializer),
                                             description="The ETag header is the agent's."))
    def config_retrieve(self, request, agent=None):
        agent = self.get_agent()
        return data_response(AgentBrainConfigSerializer(_config_view(agent)).data, headers=self._etag(agent))

    @extend_schema(summary="Swap the primary model and/or the fallback list", description=(
        "Each model is checked against the configured providers: the provider must be built in or a provider "
        "record (id or name), and a record that lists models accepts only those. " + REDEPLOY_NOTE),
        parameters=[AGENT_PATH, IF_MATCH], request=AgentModelChangeSerializer,
        responses={200: enveloped(AgentModelSerializer), 412: PRECONDITION_FAILED})
    def model_update(self, request, agent=None):
        agent = agent_model_set(agent=self.get_agent(), actor=self.actor(), data=request.data,
                                if_match=if_match_values(request))
        body = {"model": agent.config["model"], "fallback_models": agent.config["fallback_models"],
                "redeploy_required": redeploy_required(agent)}
        return data_response(AgentModelSerializer(body).data, headers=self._etag(agent))

    @extend_schema(summary="Model settings shorthand (llm_provider, llm_model, llm_temperature)",
                   parameters=[AGENT_PATH], responses=enveloped(AgentSettingsSerializer))
    def settings_retrieve(self, request, agent=None):
        agent = self.get_agent()
        return data_response(AgentSettingsSerializer(agent_settings(agent)).data, headers=self._etag(agent))

    def _settings_write(self, request, *, partial: bool):
        agent = agent_settings_set(agent=self.get_agent(), actor=self.actor(), data=request.data, partial=partial,
                                   if_match=if_match_values(request))
        return data_response(AgentSettingsSerializer(agent_settings(agent)).data, headers=self._etag(agent))

    @extend_schema(summary="Replace the model settings (all three keys required)",
                   description="Maps onto config.model.provider, .model and .params.temperature; the model's "
                               "other params are kept. " + REDEPLOY_NOTE,
                   parameters=[AGENT_PATH, IF_MATCH], request=AgentSettingsSerializer,
                   responses={200: enveloped(AgentSettingsSerializer), 412: PRECONDITION_FAILED})
    def settings_update(self, request, agent=None):
        return self._settings_write(request, partial=False)

    @extend_schema(summary="Change some of the model settings", description=REDEPLOY_NOTE,
                   parameters=[AGENT_PATH, IF_MATCH], request=AgentSettingsSerializer(partial=True),
                   responses={200: enveloped(AgentSettingsSerializer), 412: PRECONDITION_FAILED})
    def settings_partial_update(self, request, agent=None):
        return self._settings_write(request, partial=True)
