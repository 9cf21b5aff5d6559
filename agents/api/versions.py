"""``/agents/{agent}/versions``: save, list, get, diff and roll back versions (API.md §7)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework import status as http

from accounts.roles import Role
from agents import selectors
from agents.api.base import (
    AGENT_PATH,
    AgentScopedViewMixin,
    AgentSerializer,
    PipelineSerializer,
    UserRefSerializer,
    agent_response,
    agent_rule,
)
from agents.config import AgentConfigSerializer, public_config
from agents.models import AgentVersion
from agents.services import versions
from agents.services.versions import CHANGELOG_MAX
from core.envelope import data_response, enveloped
from core.validation import validated


class VersionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="1-based; grows by one per saved version.")
    changelog = serializers.CharField()
    author = UserRefSerializer(allow_null=True)
    content_hash = serializers.CharField(help_text="SHA-256 of the canonical JSON of config and pipeline.")
    created_at = serializers.DateTimeField()


class VersionDetailSerializer(VersionSerializer):
    config = serializers.SerializerMethodField()
    pipeline = PipelineSerializer()

    def get_config(self, version) -> AgentConfigSerializer:
        return public_config(version.config)


class VersionSaveSerializer(serializers.Serializer):
    changelog = serializers.CharField(max_length=CHANGELOG_MAX, allow_blank=True, required=False, default="")


class ChangeSerializer(serializers.Serializer):
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class VersionDiffSerializer(serializers.Serializer):
    a = serializers.CharField(help_text='"v1", "v2", … or "draft".')
    b = serializers.CharField()
    changes = serializers.DictField(child=ChangeSerializer(),
                                    help_text='{"config.model.model": {"old": …, "new": …}} for every changed leaf.')
    unified = serializers.CharField(help_text="Unified diff of the two definitions as indented JSON.")


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
    rules = {"list": agent_rule(Role.VIEWER), "retrieve": agent_rule(Role.VIEWER), "diff": agent_rule(Role.VIEWER),
             "create": agent_rule(Role.ADMIN), "rollback": agent_rule(Role.ADMIN)}

    @extend_schema(summary="List the agent's versions, newest first", parameters=[AGENT_PATH],
                   responses=VersionSerializer(many=True))
    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.version_list(agent=self.get_agent()))
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(summary="Save the working config and pipeline as the next version", parameters=[AGENT_PATH],
                   request=VersionSaveSerializer, responses={201: enveloped(VersionDetailSerializer)})
    def create(self, request, agent=None):
        body = validated(VersionSaveSerializer(data=request.data))
        version = versions.version_save(agent=self.get_agent(), actor=self.actor(), **body)
        return data_response(VersionDetailSerializer(version).data, status=http.HTTP_201_CREATED)

    @extend_schema(summary="Get a version with its config and pipeline", parameters=[AGENT_PATH, INDEX_PATH],
                   responses=enveloped(VersionDetailSerializer))
    def retrieve(self, request, agent=None, index=None):
        return data_response(VersionDetailSerializer(selectors.version_get(self.get_agent(), index)).data)

    @extend_schema(summary="What changed between two versions (or a version and the draft)",
                   parameters=[AGENT_PATH, *DIFF_PATHS], responses=enveloped(VersionDiffSerializer))
    def diff(self, request, agent=None, a=None, b=None):
        return data_response(VersionDiffSerializer(selectors.version_diff(self.get_agent(), a, b)).data)

    @extend_schema(summary="Copy a version into the working config and pipeline (audited)",
                   parameters=[AGENT_PATH, INDEX_PATH], request=None, responses=enveloped(AgentSerializer))
    def rollback(self, request, agent=None, index=None):
        agent = versions.version_rollback(agent=self.get_agent(), actor=self.actor(), index=index)
        return agent_response(request, agent)


