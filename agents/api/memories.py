"""``/agents/{agent}/memories`` and ``/agents/{agent}/memories/{id}``: what an agent remembers.

Reading needs viewer and ``agents:read``.  Writing (adding or forgetting a
memory) needs operator and ``agents:run``, not admin and ``agents:write``:
memories are written while chatting (``/remember``, the ``remember`` tool) by
the people who run the agent, so the API lets those same people manage them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import Rule
from accounts.roles import Role
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, UserRefSerializer, agent_rule
from agents.inputs.memories import MemoryFieldsSerializer
from agents.memory_reads import memories_for, memory_get_for_agent
from agents.models import Memory, MemoryKind
from agents.services.memories import memory_create, memory_delete
from core.envelope import data_response, enveloped
from core.errors import ValidationFailed
from core.validation import validated

MEMORY_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Memory id.")
KIND_FILTER = OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                               enum=MemoryKind.values, description="Only memories of this kind.")
READ, WRITE = agent_rule(Role.VIEWER), Rule(Scope.AGENTS_RUN, Role.OPERATOR)


class StoredMemorySerializer(serializers.Serializer):
    """A memory as the API shows it."""

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=MemoryKind.choices)
    content = serializers.CharField()
    metadata = serializers.DictField()
    created_by = UserRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_view(
    list=extend_schema(summary="List the agent's memories, newest first", parameters=[AGENT_PATH, KIND_FILTER],
                       responses=StoredMemorySerializer(many=True)),
    create=extend_schema(summary="Store a memory (operator)", parameters=[AGENT_PATH],
                         request=MemoryFieldsSerializer, responses={201: enveloped(StoredMemorySerializer)}),
    destroy=extend_schema(summary="Forget a memory (operator)", parameters=[AGENT_PATH, MEMORY_PATH],
                          responses={204: NO_CONTENT}),
)
class MemoryViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/memories`` and ``/agents/{agent}/memories/{id}``.
    Viewers read; operators with ``agents:run`` write, because memories are
    written in chat (``/remember``) by whoever may run the agent."""

    serializer_class = StoredMemorySerializer
    queryset = Memory.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("created_at",)
    default_sort = "-created_at"
    rules = {"list": READ, "create": WRITE, "destroy": WRITE}

    def list(self, request, agent=None):
        memories = memories_for(self.get_agent()).select_related("created_by")
        kind = request.query_params.get("kind")
        if kind:
            if kind not in MemoryKind.values:
                raise ValidationFailed(f"kind must be one of: {', '.join(MemoryKind.values)}.",
                                       errors={"kind": [f"Choose from {', '.join(MemoryKind.values)}."]})
            memories = memories.filter(kind=kind)
        page = self.paginate_queryset(memories)
        return self.get_paginated_response(StoredMemorySerializer(page, many=True).data)

    def create(self, request, agent=None):
        clean = validated(MemoryFieldsSerializer(data=request.data))
        memory = memory_create(self.get_agent(), actor=self.actor(), **clean)
        return data_response(StoredMemorySerializer(memory).data, status=http.HTTP_201_CREATED)

    def destroy(self, request, agent=None, id=None):
        memory_delete(memory_get_for_agent(self.get_agent(), id), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)
