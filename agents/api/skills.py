"""The skill library, ``/skills`` and ``/skills/{id}``, and an agent's skills,
``/agents/{agent}/skills`` and ``/agents/{agent}/skills/{skill}`` (API.md §6).

Library skills belong to their creator: a user lists, reads and changes only
their own (staff: every one); anyone else's is a 404.  Reads need
``agents:read``, writes ``agents:write``.

An agent's skills are read by its viewers (``agents:read``) and changed by its
admins (``agents:write``), as API.md §2 lists skills with the config.  Only a
skill the caller can see may be attached.  Attaching one that is already
connected answers 200 with the existing association (201 when it was just
connected), and never writes a second row."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.actor import Actor
from accounts.permissions import READ as LIBRARY_READ
from accounts.permissions import WRITE as LIBRARY_WRITE
from accounts.permissions import ActionRulePermission
from accounts.roles import Role
from agents import selectors
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, UserRefSerializer, agent_rule
from agents.inputs.skills import AgentSkillAttachSerializer, AgentSkillUpdateSerializer, SkillFieldsSerializer
from agents.models import AgentSkill, Skill
from agents.services import skills
from core.envelope import data_response, enveloped
from core.errors import NotFound, ValidationFailed
from core.validation import validated

SKILL_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Skill id.")
AGENT_SKILL_PATH = OpenApiParameter("skill", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                    description="Id of the skill connected to the agent.")
READ, WRITE = agent_rule(Role.VIEWER), agent_rule(Role.ADMIN)


class SkillSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    content = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()
    owner = UserRefSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AgentSkillSerializer(serializers.Serializer):
    """An association, with the skill's name, description, source and tags (seed 004)."""

    skill_id = serializers.UUIDField()
    editable = serializers.BooleanField()
    auto_connected = serializers.BooleanField()
    connected_by = UserRefSerializer(allow_null=True)
    connected_at = serializers.DateTimeField()
    name = serializers.CharField(source="skill.name")
    description = serializers.CharField(source="skill.description")
    source = serializers.CharField(source="skill.source")
    tags = serializers.ListField(child=serializers.CharField(), source="skill.tags")


@extend_schema_view(
    list=extend_schema(summary="List your skills (staff: every skill)", responses=SkillSerializer(many=True)),
    create=extend_schema(summary="Add a skill to your library", request=SkillFieldsSerializer,
                         responses={201: enveloped(SkillSerializer)}),
    retrieve=extend_schema(summary="Get one of your skills", parameters=[SKILL_PATH],
                           responses=enveloped(SkillSerializer)),
    partial_update=extend_schema(summary="Change some of a skill's fields", parameters=[SKILL_PATH],
                                 request=SkillFieldsSerializer, responses=enveloped(SkillSerializer)),
    destroy=extend_schema(summary="Delete a skill (it leaves every agent it was connected to)",
                          parameters=[SKILL_PATH], responses={204: NO_CONTENT}),
)
class SkillViewSet(viewsets.GenericViewSet):
    """``/skills`` and ``/skills/{id}``."""

    permission_classes = [IsAuthenticated, ActionRulePermission]
    serializer_class = SkillSerializer
    queryset = Skill.objects.none()  # for the schema
    sort_fields = ("name", "created_at")
    default_sort = "name"
    rules = {"list": LIBRARY_READ, "retrieve": LIBRARY_READ, "create": LIBRARY_WRITE,
             "partial_update": LIBRARY_WRITE, "destroy": LIBRARY_WRITE}

    def get_skill(self) -> Skill:
        return selectors.skill_get_for_user(user=self.request.user, skill_id=self.kwargs["id"])

    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def list(self, request):
        page = self.paginate_queryset(selectors.skills_visible_to(request.user).select_related("owner"))
        return self.get_paginated_response(SkillSerializer(page, many=True).data)

    def create(self, request):
        clean = validated(SkillFieldsSerializer(data=request.data))
        skill = skills.skill_create(actor=self.actor(), **clean)
        return data_response(SkillSerializer(skill).data, status=http.HTTP_201_CREATED)

    def retrieve(self, request, id=None):
        return data_response(SkillSerializer(self.get_skill()).data)

    def partial_update(self, request, id=None):
        skill = skills.skill_update(self.get_skill(), actor=self.actor(), data=request.data)
        return data_response(SkillSerializer(skill).data)

    def destroy(self, request, id=None):
        skills.skill_delete(self.get_skill(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List the skills connected to the agent", parameters=[AGENT_PATH],
                       responses=AgentSkillSerializer(many=True)),
    create=extend_schema(
        summary="Connect one of your skills to the agent (idempotent)", parameters=[AGENT_PATH],
        request=AgentSkillAttachSerializer,
        responses={201: OpenApiResponse(enveloped(AgentSkillSerializer), description="Connected."),
                   200: OpenApiResponse(enveloped(AgentSkillSerializer),
                                        description="Already connected: the existing association, unchanged.")}),
    update=extend_schema(summary="Change whether the agent may edit the skill",
                         parameters=[AGENT_PATH, AGENT_SKILL_PATH], request=AgentSkillUpdateSerializer,
                         responses=enveloped(AgentSkillSerializer)),
    destroy=extend_schema(summary="Disconnect a skill from the agent", parameters=[AGENT_PATH, AGENT_SKILL_PATH],
                          responses={204: NO_CONTENT}),
)
class AgentSkillViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/skills`` and ``/agents/{agent}/skills/{skill}``."""

    serializer_class = AgentSkillSerializer
    queryset = AgentSkill.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("connected_at",)
    default_sort = "connected_at"
    rules = {"list": READ, "create": WRITE, "update": WRITE, "destroy": WRITE}

    def get_link(self) -> AgentSkill:
        return selectors.agent_skill_get(self.get_agent(), self.kwargs["skill"])

    def get_object(self) -> AgentSkill:  # what DRF's OPTIONS metadata reads for PUT
        return self.get_link()

    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.agent_skills(self.get_agent()))
        return self.get_paginated_response(AgentSkillSerializer(page, many=True).data)

    def create(self, request, agent=None):
        clean = validated(AgentSkillAttachSerializer(data=request.data))
        try:
            skill = selectors.skill_get_for_user(user=request.user, skill_id=clean["skill_id"])
        except NotFound:
            raise ValidationFailed("skill_id: No skill with this id in your library.",
                                   errors={"skill_id": ["No skill with this id in your library."]}) from None
        link, created = skills.skill_attach(self.get_agent(), skill, actor=self.actor(),
                                            editable=clean["editable"], auto_connected=clean["auto_connected"])
        link = selectors.agent_skill_get(self.get_agent(), link.skill_id)
        return data_response(AgentSkillSerializer(link).data,
                             status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)

    def update(self, request, agent=None, skill=None):
        clean = validated(AgentSkillUpdateSerializer(data=request.data))
        link = skills.skill_association_update(self.get_link(), actor=self.actor(), editable=clean["editable"])
        return data_response(AgentSkillSerializer(link).data)

    def destroy(self, request, agent=None, skill=None):
        skills.skill_detach(self.get_link(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)
