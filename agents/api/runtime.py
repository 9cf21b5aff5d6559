"""The agent's runtime: ``/agents/{agent}/status``, ``/start``, ``/stop`` and
``/redeploy`` (API.md §7): which version it serves, and since when."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from accounts.roles import Role
from agents import selectors
from agents.api.base import AGENT_PATH, AgentScopedViewMixin, agent_rule
from agents.models import RuntimeState
from agents.services import runtime
from core.envelope import data_response, enveloped


class RuntimeStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=RuntimeState.choices)
    deployed_version = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    tools_count = serializers.IntegerField(help_text="Tools of the deployed version while running, else of the draft.")
    active_threads = serializers.IntegerField()


class RedeploySerializer(RuntimeStatusSerializer):
    redeployed = serializers.BooleanField(help_text="False when the agent is stopped: nothing to redeploy.")


class RuntimeViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = RuntimeStatusSerializer
    agent_representation = False
    rules = {"status": agent_rule(Role.VIEWER), "start": agent_rule(Role.ADMIN), "stop": agent_rule(Role.ADMIN),
             "redeploy": agent_rule(Role.ADMIN)}

    def _status(self, agent, serializer=RuntimeStatusSerializer, **extra):
        return data_response(serializer({**selectors.runtime_status(agent), **extra}).data)

    @extend_schema(summary="Runtime state, deployed version and what it serves", parameters=[AGENT_PATH],
                   responses=enveloped(RuntimeStatusSerializer))
    def status(self, request, agent=None):
        return self._status(self.get_agent())

    @extend_schema(summary="Deploy the working config (a new version if it changed) and start serving it",
                   parameters=[AGENT_PATH], request=None, responses=enveloped(RuntimeStatusSerializer))
    def start(self, request, agent=None):
        return self._status(runtime.agent_start(agent=self.get_agent(), actor=self.actor()))

    @extend_schema(summary="Stop the agent: schedules and heartbeat pause", parameters=[AGENT_PATH],
                   request=None, responses=enveloped(RuntimeStatusSerializer))
    def stop(self, request, agent=None):
        return self._status(runtime.agent_stop(agent=self.get_agent(), actor=self.actor()))

    @extend_schema(summary="Pin the working config on a running agent", parameters=[AGENT_PATH],
                   request=None, responses=enveloped(RedeploySerializer))
    def redeploy(self, request, agent=None):
        agent, redeployed = runtime.agent_redeploy(agent=self.get_agent(), actor=self.actor())
        return self._status(agent, RedeploySerializer, redeployed=redeployed)
