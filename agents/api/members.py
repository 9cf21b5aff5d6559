"""``/agents/{agent}/admins``: the agent's members and their roles (API.md §2).
Who may add, change or remove whom is the services' rule."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import Rule
from accounts.roles import MEMBER_ROLE_CHOICES, Role
from accounts.selectors import user_find
from agents import selectors, services
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, UserRefSerializer, agent_rule
from agents.models import AgentMember
from core.envelope import data_response, enveloped
from core.errors import NotFound, ValidationFailed
from core.validation import validated


class MemberSerializer(serializers.Serializer):
    user = UserRefSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    added_at = serializers.DateTimeField(source="created_at")
    added_by = UserRefSerializer(allow_null=True)


class UserChoiceSerializer(serializers.Serializer):
    """Names a user by ``email`` or ``user_id``."""

    email = serializers.EmailField(required=False)
    user_id = serializers.UUIDField(required=False)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("user_id"):
            raise serializers.ValidationError({"email": ["Give the user's email or user_id."]})
        return attrs


class MemberAddSerializer(UserChoiceSerializer):
    role = serializers.ChoiceField(choices=MEMBER_ROLE_CHOICES)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=MEMBER_ROLE_CHOICES)


def chosen_user(data: dict):
    """The active user a validated ``UserChoiceSerializer`` names; 400 at the field when there is none."""
    user = user_find(email=data.get("email"), user_id=data.get("user_id"))
    if user is None:
        field = "email" if data.get("email") else "user_id"
        raise ValidationFailed("No active user matches.", errors={field: ["No active user matches."]})
    return user


@extend_schema_view(
    list=extend_schema(summary="List the agent's members with their roles", parameters=[AGENT_PATH],
                       responses=MemberSerializer(many=True)),
    create=extend_schema(summary="Add a member (admins add operators and viewers; the owner adds admins)",
                         parameters=[AGENT_PATH], request=MemberAddSerializer,
                         responses={201: enveloped(MemberSerializer)}),
    partial_update=extend_schema(summary="Change a member's role", request=MemberRoleSerializer,
                                 parameters=[AGENT_PATH, OpenApiParameter("member", OpenApiTypes.UUID,
                                                                          OpenApiParameter.PATH,
                                                                          description="The member's user id.")],
                                 responses=enveloped(MemberSerializer)),
    destroy=extend_schema(summary="Remove a member (anyone may remove themselves)",
                          parameters=[AGENT_PATH, OpenApiParameter("member", OpenApiTypes.UUID,
                                                                   OpenApiParameter.PATH,
                                                                   description="The member's user id.")],
                          responses={204: NO_CONTENT}),
)
class MemberViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = MemberSerializer
    queryset = AgentMember.objects.none()  # for the schema
    lookup_url_kwarg = "member"
    sort_fields = ("created_at",)
    default_sort = "created_at"
    rules = {
        "list": agent_rule(Role.VIEWER),
        "create": agent_rule(Role.ADMIN),
        "partial_update": agent_rule(Role.ADMIN),
        "destroy": Rule(Scope.AGENTS_WRITE, Role.VIEWER),  # the service checks who may remove whom
    }

    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.member_list(agent=self.get_agent()))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    def _member_response(self, user_id, status=http.HTTP_200_OK):
        member = selectors.member_list(agent=self.get_agent()).get(user_id=user_id)
        return data_response(MemberSerializer(member).data, status=status)

    def create(self, request, agent=None):
        body = validated(MemberAddSerializer(data=request.data))
        user = chosen_user(body)
        services.member_add(agent=self.get_agent(), actor=self.actor(), actor_role=self.agent_role,
                            user=user, role=body["role"])
        return self._member_response(user.pk, status=http.HTTP_201_CREATED)

    def partial_update(self, request, agent=None, member=None):
        body = validated(MemberRoleSerializer(data=request.data))
        user_id = _uuid_or_404(member)
        services.member_change_role(agent=self.get_agent(), actor=self.actor(), actor_role=self.agent_role,
                                    user_id=user_id, role=body["role"])
        return self._member_response(user_id)

    def destroy(self, request, agent=None, member=None):
        services.member_remove(agent=self.get_agent(), actor=self.actor(), actor_role=self.agent_role,
                               user_id=_uuid_or_404(member))
        return Response(status=http.HTTP_204_NO_CONTENT)


def _uuid_or_404(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such member.")
