"""The agent's brain (config, model, settings) and the creation wizard.

Writes change the working config only: a running agent keeps its deployed
version until ``POST /agents/{agent}/redeploy`` (API.md §7); answers say so
in ``redeploy_required``.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.actor import Actor
from accounts.permissions import WRITE, ActionRulePermission
from accounts.roles import Role
from agents import services
from agents.api.brain_serializers import (
    AgentBrainConfigSerializer,
    AgentModelChangeSerializer,
    AgentModelSerializer,
    AgentSettingsSerializer,
    WizardResultSerializer,
    WizardSerializer,
)
from agents.api.views import AGENT_PATH, IF_MATCH, AgentScopedViewMixin, _rule
from agents.config import public_config
from agents.models import RuntimeState
from agents.services.brain import agent_model_set, agent_settings, agent_settings_set, redeploy_required
from agents.services.wizard import agent_create_from_wizard
from core.envelope import data_response, enveloped
from core.etags import if_match_values

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
        "config_retrieve": _rule(Role.VIEWER),
        "model_update": _rule(Role.ADMIN),
        "settings_retrieve": _rule(Role.VIEWER),
        "settings_update": _rule(Role.ADMIN),
        "settings_partial_update": _rule(Role.ADMIN),
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


class WizardViewSet(viewsets.ViewSet):
    """``POST /agents/create-from-wizard``: any authenticated caller with agents:write; they own the agent."""

    permission_classes = [IsAuthenticated, ActionRulePermission]
    rules = {"create": WRITE}

    @extend_schema(summary="Create an agent in one shot, seeding its memory, rules, skills and tasks",
                   description=("All or nothing: any invalid part answers 400 naming its path "
                                "(e.g. training.tasks[0].cron) and nothing is created. A name you already use "
                                "is 409 name_taken, as for POST /agents."),
                   request=WizardSerializer,
                   responses={201: OpenApiResponse(enveloped(WizardResultSerializer),
                                                   description="The ETag header is the new agent's.")})
    def create(self, request):
        result = agent_create_from_wizard(actor=Actor.from_request(request), data=request.data)
        agent = result.agent
        body = {"workflow_id": agent.pk, "agent_id": agent.pk, "slug": agent.slug, "seed_counts": result.seed_counts,
                "operating_prompt_id": agent.config.get("operating_prompt_id")}
        return data_response(WizardResultSerializer(body).data, status=http.HTTP_201_CREATED,
                             headers={"ETag": services.agent_etag(agent),
                                      "Location": f"/api/v1/agents/{agent.pk}"})
