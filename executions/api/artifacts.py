"""``/agents/{agent}/artifacts``, ``/artifacts/{id}`` and ``/artifacts/{id}/view``:
what an agent made to keep (API.md §6, seed 004).

Reading needs viewer and ``agents:read``; saving needs operator and
``agents:run`` (artifacts are saved while running or chatting, API.md §2);
deleting needs admin and ``agents:write``, whoever saved it, as for every
other thing an agent keeps.

``/view`` serves the content to look at, never to run: HTML types as
``text/html`` under ``Content-Security-Policy: sandbox; default-src 'none'``
(no script runs, nothing loads, the page gets an opaque origin and so never
the console's cookies), every other type as ``text/plain``; both with
``X-Content-Type-Options: nosniff``, so a browser never guesses otherwise."""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import Rule
from accounts.roles import Role
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, UserRefSerializer, agent_rule
from core.envelope import data_response, enveloped
from core.renderers import JSONRenderer
from executions.artifacts import artifact_get_for_agent, artifacts_for, is_html
from executions.inputs import ArtifactFieldsSerializer
from executions.models import Artifact
from executions.services.artifacts import artifact_delete, artifact_save

ARTIFACT_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Artifact id.")
FILTERS = [
    OpenApiParameter("type", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                     description="Only artifacts of this artifact_type (e.g. html_report)."),
    OpenApiParameter("tag", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                     description="Only artifacts with this tag."),
]
READ, SAVE, DELETE = agent_rule(Role.VIEWER), Rule(Scope.AGENTS_RUN, Role.OPERATOR), agent_rule(Role.ADMIN)
VIEW_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class ArtifactSerializer(serializers.Serializer):
    """An artifact as lists show it: everything but ``content``."""

    id = serializers.UUIDField()
    agent_id = serializers.UUIDField()
    thread_id = serializers.UUIDField(allow_null=True)
    execution_id = serializers.UUIDField(allow_null=True, help_text="The run that saved it, if a run did.")
    skill_id = serializers.UUIDField(allow_null=True)
    title = serializers.CharField()
    artifact_type = serializers.CharField()
    summary = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()
    created_by = UserRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ArtifactDetailSerializer(ArtifactSerializer):
    content = serializers.CharField()


class ArtifactSavedSerializer(serializers.Serializer):
    artifact_id = serializers.UUIDField(source="id")
    title = serializers.CharField()
    artifact_type = serializers.CharField()


class _PassThroughRenderer(BaseRenderer):
    """Lets a client ask ``/view`` for its media type; errors still render as JSON."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


class HtmlRenderer(_PassThroughRenderer):
    media_type, format = "text/html", "html"


class PlainTextRenderer(_PassThroughRenderer):
    media_type, format = "text/plain", "txt"


@extend_schema_view(
    list=extend_schema(summary="List the agent's artifacts, newest first (no content; at most 100 a page)",
                       parameters=[AGENT_PATH, *FILTERS], responses=ArtifactSerializer(many=True)),
    create=extend_schema(summary="Save an artifact (operator)", parameters=[AGENT_PATH],
                         request=ArtifactFieldsSerializer,
                         responses={201: enveloped(ArtifactSavedSerializer),
                                    413: OpenApiResponse(description="content is over 2 MB.")}),
    retrieve=extend_schema(summary="Get an artifact with its content", parameters=[AGENT_PATH, ARTIFACT_PATH],
                           responses=enveloped(ArtifactDetailSerializer)),
    destroy=extend_schema(summary="Delete an artifact (admin)", parameters=[AGENT_PATH, ARTIFACT_PATH],
                          responses={204: NO_CONTENT}),
)
class ArtifactViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/artifacts`` and ``/agents/{agent}/artifacts/{id}``."""

    serializer_class = ArtifactSerializer
    queryset = Artifact.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("created_at",)
    default_sort = "-created_at"
    max_limit = 100
    rules = {"list": READ, "retrieve": READ, "view_content": READ, "create": SAVE, "destroy": DELETE}

    def get_renderers(self):
        if self.action == "view_content":
            return [JSONRenderer(), HtmlRenderer(), PlainTextRenderer()]
        return super().get_renderers()

    def get_artifact(self) -> Artifact:
        return artifact_get_for_agent(self.get_agent(), self.kwargs["id"])

    def list(self, request, agent=None):
        artifacts = artifacts_for(self.get_agent(), artifact_type=request.query_params.get("type"),
                                  tag=request.query_params.get("tag"))
        page = self.paginate_queryset(artifacts)
        return self.get_paginated_response(ArtifactSerializer(page, many=True).data)

    def create(self, request, agent=None):
        artifact = artifact_save(self.get_agent(), actor=self.actor(), data=request.data)
        return data_response(ArtifactSavedSerializer(artifact).data, status=http.HTTP_201_CREATED)

    def retrieve(self, request, agent=None, id=None):
        return data_response(ArtifactDetailSerializer(self.get_artifact()).data)

    def destroy(self, request, agent=None, id=None):
        artifact_delete(self.get_artifact(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="View an artifact: HTML sandboxed (no scripts), other types as plain text",
        parameters=[AGENT_PATH, ARTIFACT_PATH],
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="HTML artifact types."),
                   (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="Every other type.")})
    def view_content(self, request, agent=None, id=None):
        artifact = self.get_artifact()
        media_type = "text/html" if is_html(artifact.artifact_type) else "text/plain"
        response = HttpResponse(artifact.content, content_type=f"{media_type}; charset=utf-8")
        response["Content-Security-Policy"] = VIEW_CSP
        response["X-Content-Type-Options"] = "nosniff"
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "private, no-store"
        response["X-Frame-Options"] = "SAMEORIGIN"  # the console may frame it; no other site may
        return response
