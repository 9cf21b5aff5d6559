"""Agents API views: check permission, parse, call a service, serialize."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.actor import Actor
from accounts.models import Scope
from accounts.permissions import READ, WRITE, ActionRulePermission, Rule, require_role
from accounts.roles import Role
from accounts.selectors import user_find
from agents import selectors, services
from agents.api.filters import AgentFilter
from agents.api.serializers import (
    AccessibleAgentSerializer,
    AgentCreateSerializer,
    AgentSerializer,
    AgentWriteSerializer,
    AuditLogEntrySerializer,
    CheckNameQuerySerializer,
    CheckNameSerializer,
    DuplicateSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    TransferSerializer,
    raw_agent_fields,
)
from agents.models import Agent, AgentMember, AgentStatus, AuditLogEntry
from agents.services.templates import agent_create_from_template
from core.envelope import data_response, enveloped
from core.errors import NotFound, ValidationFailed
from core.etags import if_match_values, not_modified

AGENT_PATH = OpenApiParameter("agent", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The agent's UUID or slug.")
IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                            description="Strong ETag from a previous response; 412 if the agent has changed.")
ETAG_NOTE = "The agent; the ETag header carries its strong entity tag for If-Match."
IF_NONE_MATCH = OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                                 description="ETag you hold; 304 with no body while it is current.")
NO_CONTENT = OpenApiResponse(description="Deleted; no body.")


def _rule(role: Role) -> Rule:
    """The scope an action on an agent needs follows from its least role (API.md §2)."""
    return Rule(Scope.AGENTS_READ if role == Role.VIEWER else Scope.AGENTS_WRITE, role)


class AgentScopedViewMixin:
    """Resolves ``{agent}`` from the URL once, through the visibility selector."""

    permission_classes = [IsAuthenticated, ActionRulePermission]
    agent_url_kwarg = "agent"
    # Whether get_agent() also fetches what the agent representation shows
    # (owner, tags, counts); views that never render the agent skip it.
    agent_representation = True

    def get_agent(self):
        if not hasattr(self, "_agent"):
            self._agent = selectors.agent_get_for_user(user=self.request.user, ref=self.kwargs[self.agent_url_kwarg],
                                                       representation=self.agent_representation)
        return self._agent

    @property
    def agent_role(self) -> Role:
        return Role(self.get_agent().role)

    def actor(self) -> Actor:
        return Actor.from_request(self.request)


def _agent_response(request, agent, *, status=http.HTTP_200_OK):
    """Render the agent as the caller sees it (fresh from the database), with its ETag."""
    agent = selectors.agent_get_for_user(user=request.user, ref=str(agent.pk))
    return data_response(AgentSerializer(agent).data, status=status,
                         headers={"ETag": services.agent_etag(agent)})


@extend_schema_view(
    list=extend_schema(summary="List agents you can access", responses=AgentSerializer(many=True)),
    create=extend_schema(summary="Create an agent, or one from a template (you become its owner)",
                         request=AgentCreateSerializer,
                         responses={201: OpenApiResponse(enveloped(AgentSerializer), description=ETAG_NOTE)}),
    retrieve=extend_schema(summary="Get an agent", parameters=[AGENT_PATH, IF_NONE_MATCH],
                           responses={200: OpenApiResponse(enveloped(AgentSerializer), description=ETAG_NOTE),
                                      304: OpenApiResponse(description="Not modified; no body.")}),
    partial_update=extend_schema(summary="Change some of an agent's fields (config is merge-patched)",
                                 parameters=[AGENT_PATH, IF_MATCH], request=AgentWriteSerializer,
                                 responses=enveloped(AgentSerializer)),
    update=extend_schema(summary="Create the agent with this slug, or replace it (If-Match required)",
                         parameters=[AGENT_PATH, IF_MATCH], request=AgentWriteSerializer,
                         responses={200: enveloped(AgentSerializer), 201: enveloped(AgentSerializer)}),
    destroy=extend_schema(summary="Delete an agent and all it owns", parameters=[AGENT_PATH, IF_MATCH],
                          responses={204: NO_CONTENT}),
)
class AgentViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = AgentSerializer
    filterset_class = AgentFilter
    lookup_url_kwarg = "agent"
    lookup_value_regex = "[^/]+"
    sort_fields = ("name", "created_at", "updated_at", "last_activity")
    sort_keys = {"name": "name_key"}
    default_sort = "-created_at"
    rules = {
        "list": READ,
        "create": WRITE,
        "check_name": READ,
        "update": WRITE,  # create-or-replace: the role is checked once we know which
        "retrieve": _rule(Role.VIEWER),
        "partial_update": _rule(Role.ADMIN),
        "destroy": _rule(Role.OWNER),
        "activate": _rule(Role.ADMIN),
        "deactivate": _rule(Role.ADMIN),
        "duplicate": _rule(Role.ADMIN),
        "transfer": _rule(Role.OWNER),
    }

    queryset = Agent.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.agent_list_for_user(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(AgentSerializer(page, many=True).data)

    def create(self, request):
        fields = raw_agent_fields(request.data)
        if "template" in request.data:
            agent = agent_create_from_template(actor=self.actor(), template=request.data["template"],
                                               overrides=fields)
        else:
            agent = services.agent_create(actor=self.actor(), **fields)
        return _agent_response(request, agent, status=http.HTTP_201_CREATED)

    def retrieve(self, request, agent=None):
        agent = self.get_agent()
        etag = services.agent_etag(agent)
        if not_modified(request, etag):
            return Response(status=http.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return data_response(AgentSerializer(agent).data, headers={"ETag": etag})

    def partial_update(self, request, agent=None):
        agent = services.agent_update(agent=self.get_agent(), actor=self.actor(),
                                      changes=raw_agent_fields(request.data), if_match=if_match_values(request))
        return _agent_response(request, agent)

    def update(self, request, agent=None):
        try:
            existing = self.get_agent()
        except NotFound:
            existing = None
        if existing is not None:
            require_role(existing.role, Role.ADMIN)
        result, created = services.agent_put(actor=self.actor(), ref=agent, existing=existing,
                                             data=raw_agent_fields(request.data), if_match=if_match_values(request))
        return _agent_response(request, result, status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)

    def destroy(self, request, agent=None):
        services.agent_delete(agent=self.get_agent(), actor=self.actor(), if_match=if_match_values(request))
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Is this agent name free for you?", parameters=[CheckNameQuerySerializer],
                   responses=enveloped(CheckNameSerializer))
    @action(detail=False, methods=["get"], url_path="check-name")
    def check_name(self, request):
        query = CheckNameQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = selectors.agent_name_check(user=request.user, **query.validated_data)
        return data_response(CheckNameSerializer(result).data)

    def _set_status(self, request, status):
        agent = services.agent_set_status(agent=self.get_agent(), actor=self.actor(), status=status)
        return _agent_response(request, agent)

    @extend_schema(summary="Set status to active", request=None, parameters=[AGENT_PATH],
                   responses=enveloped(AgentSerializer))
    @action(detail=True, methods=["post"])
    def activate(self, request, agent=None):
        return self._set_status(request, AgentStatus.ACTIVE)

    @extend_schema(summary="Set status to paused", request=None, parameters=[AGENT_PATH],
                   responses=enveloped(AgentSerializer))
    @action(detail=True, methods=["post"])
    def deactivate(self, request, agent=None):
        return self._set_status(request, AgentStatus.PAUSED)

    @extend_schema(summary="Copy an agent; you own the copy", request=DuplicateSerializer,
                   parameters=[AGENT_PATH], responses={201: enveloped(AgentSerializer)})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, agent=None):
        body = DuplicateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        copy_ = services.agent_duplicate(agent=self.get_agent(), actor=self.actor(), **body.validated_data)
        return _agent_response(request, copy_, status=http.HTTP_201_CREATED)

    @extend_schema(summary="Hand the agent to another user; you stay on as admin", request=TransferSerializer,
                   parameters=[AGENT_PATH], responses=enveloped(AgentSerializer))
    @action(detail=True, methods=["post"])
    def transfer(self, request, agent=None):
        body = TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new_owner = _find_user(body.validated_data)
        agent = services.ownership_transfer(agent=self.get_agent(), actor=self.actor(),
                                            actor_role=self.agent_role, new_owner=new_owner)
        return _agent_response(request, agent)


def _find_user(data: dict):
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
        "list": _rule(Role.VIEWER),
        "create": _rule(Role.ADMIN),
        "partial_update": _rule(Role.ADMIN),
        "destroy": Rule(Scope.AGENTS_WRITE, Role.VIEWER),  # the service checks who may remove whom
    }

    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.member_list(agent=self.get_agent()))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    def _member_response(self, user_id, status=http.HTTP_200_OK):
        member = selectors.member_list(agent=self.get_agent()).get(user_id=user_id)
        return data_response(MemberSerializer(member).data, status=status)

    def create(self, request, agent=None):
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = _find_user(body.validated_data)
        services.member_add(agent=self.get_agent(), actor=self.actor(), actor_role=self.agent_role,
                            user=user, role=body.validated_data["role"])
        return self._member_response(user.pk, status=http.HTTP_201_CREATED)

    def partial_update(self, request, agent=None, member=None):
        body = MemberRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user_id = _uuid_or_404(member)
        services.member_change_role(agent=self.get_agent(), actor=self.actor(), actor_role=self.agent_role,
                                    user_id=user_id, role=body.validated_data["role"])
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


@extend_schema_view(
    list=extend_schema(summary="Who changed what on this agent, newest first", parameters=[AGENT_PATH],
                       responses=AuditLogEntrySerializer(many=True)),
)
class AuditLogViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = AuditLogEntrySerializer
    queryset = AuditLogEntry.objects.none()  # for the schema
    sort_fields = ("created_at",)
    default_sort = "-created_at"
    rules = {"list": _rule(Role.VIEWER)}

    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.audit_log_for_agent(agent=self.get_agent()))
        return self.get_paginated_response(AuditLogEntrySerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Agents you can access, with your role on each",
                       responses=AccessibleAgentSerializer(many=True)),
)
class AccessibleAgentViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = AccessibleAgentSerializer
    queryset = Agent.objects.none()  # for the schema
    sort_fields = ("name", "created_at")
    sort_keys = {"name": "name_key"}
    default_sort = "name"
    rules = {"list": READ}

    def list(self, request):
        agents = selectors.agents_visible_to(request.user).only("id", "slug", "name", "name_key", "created_at")
        page = self.paginate_queryset(agents)
        return self.get_paginated_response(AccessibleAgentSerializer(page, many=True).data)
