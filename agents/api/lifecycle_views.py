"""Versions and runtime: save, list, diff and roll back versions; start,
stop, redeploy and read the runtime status (API.md §7)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework import viewsets

from accounts.roles import Role
from agents import selectors
from agents.api.lifecycle_serializers import (
    RedeploySerializer,
    RuntimeStatusSerializer,
    VersionDetailSerializer,
    VersionDiffSerializer,
    VersionSaveSerializer,
    VersionSerializer,
)
from agents.api.serializers import AgentSerializer
from agents.api.views import AGENT_PATH, AgentScopedViewMixin, _agent_response, _rule
from agents.models import AgentVersion
from agents.services import runtime, versions
from core.envelope import data_response, enveloped

INDEX_PATH = OpenApiParameter("index", OpenApiTypes.INT, OpenApiParameter.PATH, description="Version index (1, 2, …).")
DIFF_PATHS = [
    OpenApiParameter("a", OpenApiTypes.STR, OpenApiParameter.PATH, description='Version index, or "draft".'),
    OpenApiParameter("b", OpenApiTypes.STR, OpenApiParameter.PATH, description='Version index, or "draft".'),
]


class VersionViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = VersionSerializer
    queryset = AgentVersion.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("index",)
    default_sort = "-index"
    rules = {"list": _rule(Role.VIEWER), "retrieve": _rule(Role.VIEWER), "diff": _rule(Role.VIEWER),
             "create": _rule(Role.ADMIN), "rollback": _rule(Role.ADMIN)}

    @extend_schema(summary="List the agent's versions, newest first", parameters=[AGENT_PATH],
                   responses=VersionSerializer(many=True))
    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.version_list(agent=self.get_agent()))
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(summary="Save the working config and pipeline as the next version", parameters=[AGENT_PATH],
                   request=VersionSaveSerializer, responses={201: enveloped(VersionDetailSerializer)})
    def create(self, request, agent=None):
        body = VersionSaveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = versions.version_save(agent=self.get_agent(), actor=self.actor(), **body.validated_data)
        return data_response(VersionDetailSerializer(version).data, status=http.HTTP_201_CREATED)

    @extend_schema(summary="Get a version with its config and pipeline", parameters=[AGENT_PATH, INDEX_PATH],
                   responses=enveloped(VersionDetailSerializer))
    def retrieve(self, request, agent=None, index=None):
        return data_response(VersionDetailSerializer(versions.version_get(self.get_agent(), index)).data)

    @extend_schema(summary="What changed between two versions (or a version and the draft)",
                   parameters=[AGENT_PATH, *DIFF_PATHS], responses=enveloped(VersionDiffSerializer))
    def diff(self, request, agent=None, a=None, b=None):
        return data_response(VersionDiffSerializer(versions.version_diff(self.get_agent(), a, b)).data)

    @extend_schema(summary="Copy a version into the working config and pipeline (audited)",
                   parameters=[AGENT_PATH, INDEX_PATH], request=None, responses=enveloped(AgentSerializer))
    def rollback(self, request, agent=None, index=None):
        agent = versions.version_rollback(agent=self.get_agent(), actor=self.actor(), index=index)
        return _agent_response(request, agent)


class RuntimeViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = RuntimeStatusSerializer
    agent_representation = False
    rules = {"status": _rule(Role.VIEWER), "start": _rule(Role.ADMIN), "stop": _rule(Role.ADMIN),
             "redeploy": _rule(Role.ADMIN)}

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
