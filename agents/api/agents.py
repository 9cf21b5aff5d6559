"""``/agents`` and ``/agents/{agent}``: create, read, list, change, replace,
delete, copy and hand over agents (API.md §3); and ``/auth/agents``, the
agents the caller can access."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import READ, WRITE, require_role
from accounts.roles import Role
from agents import selectors, services
from agents.api.base import (
    AGENT_PATH,
    IF_MATCH,
    NO_CONTENT,
    AgentScopedViewMixin,
    AgentSerializer,
    PipelineSerializer,
    agent_response,
    agent_rule,
)
from agents.api.filters import AgentFilter
from agents.api.members import UserChoiceSerializer, chosen_user
from agents.config import AgentConfigSerializer
from agents.models import Agent, AgentStatus
from agents.services.templates import agent_create_from_template
from agents.validation import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX, TAG_MAX
from core.envelope import data_response, enveloped
from core.errors import NotFound
from core.etags import if_match_values, not_modified
from core.filters import filters_given
from core.renderers import JSONText
from core.validation import validated

ETAG_NOTE = "The agent; the ETag header carries its strong entity tag for If-Match."
IF_NONE_MATCH = OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                                 description="ETag you hold; 304 with no body while it is current.")


class AgentWriteSerializer(serializers.Serializer):
    """The body of create, PATCH and PUT, for the OpenAPI schema.  The
    services validate it (so the admin, imports and commands get the same
    rules); views hand them the raw fields via ``raw_agent_fields``."""

    name = serializers.CharField(max_length=NAME_MAX, trim_whitespace=False)
    slug = serializers.CharField(max_length=SLUG_MAX, required=False,
                                 help_text="Letters, digits and single hyphens; derived from name when absent.")
    description = serializers.CharField(max_length=DESCRIPTION_MAX, allow_blank=True, required=False,
                                        trim_whitespace=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX), required=False, max_length=20)
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False)
    config = AgentConfigSerializer(required=False)
    pipeline = PipelineSerializer(required=False)


class AgentCreateSerializer(AgentWriteSerializer):
    """The body of ``POST /agents``: an agent, or a catalog template and what to change in it."""

    name = serializers.CharField(max_length=NAME_MAX, trim_whitespace=False, required=False,
                                 help_text="Required unless template is given (default: the template's).")
    template = serializers.CharField(required=False, help_text=(
        "A template id from GET /agents/templates: the agent is created from it, schedules and skills included; "
        "the other fields given override the template's (config is merge-patched)."))


def raw_agent_fields(request_data) -> dict:
    """The body's agent fields as sent (config and pipeline untouched, so
    the services see exactly what the client wrote)."""
    if not isinstance(request_data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return {k: request_data[k] for k in ("name", "slug", "description", "tags", "status", "config", "pipeline")
            if k in request_data}


class DuplicateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)


class CheckNameQuerySerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    ignore_id = serializers.UUIDField(required=False)


class CheckNameSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["duplicate", "invalid"], allow_null=True)
    conflict_id = serializers.UUIDField(allow_null=True)


class TransferSerializer(UserChoiceSerializer):
    """The new owner."""


class AccessibleAgentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


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
        "retrieve": agent_rule(Role.VIEWER),
        "partial_update": agent_rule(Role.ADMIN),
        "destroy": agent_rule(Role.OWNER),
        "activate": agent_rule(Role.ADMIN),
        "deactivate": agent_rule(Role.ADMIN),
        "duplicate": agent_rule(Role.ADMIN),
        "transfer": agent_rule(Role.OWNER),
    }

    queryset = Agent.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.agent_list_for_user(user=self.request.user)

    def list(self, request):
        user = request.user
        # The user's agents, one row: the plain list's total, and how either
        # list finds the agents (selectors.PAGE_FROM_MEMBERSHIPS).
        memberships = selectors.agent_count_for_user(user)
        # Each page is read and represented by the database in one statement
        # (agents.representation_sql); the plain list's, the one most asked for,
        # is written once per process and counted from the one row.
        if filters_given(request.query_params, self.filterset_class):
            agents = self.filter_queryset(selectors.agents_listed_for(user=user, memberships=memberships))
            page = self.paginator.paginate(
                request, self, model=Agent, position=lambda agent: agent.position(),
                count=lambda: selectors.agent_list_count(user=user, agents=agents, memberships=memberships),
                read=lambda window: selectors.agent_page_of(user=user, agents=agents, window=window))
        else:
            page = self.paginator.paginate(
                request, self, model=Agent, position=lambda agent: agent.position(), count=lambda: memberships,
                read=lambda window: selectors.agent_page_for_user(user=user, window=window, memberships=memberships))
        return self.get_paginated_response(JSONText.array(agent.json for agent in page))

    def create(self, request):
        fields = raw_agent_fields(request.data)
        if "template" in request.data:
            agent = agent_create_from_template(actor=self.actor(), template=request.data["template"],
                                               overrides=fields)
        else:
            agent = services.agent_create(actor=self.actor(), **fields)
        return agent_response(request, agent, status=http.HTTP_201_CREATED)

    def get_agent(self):
        if self.action == "retrieve" and not hasattr(self, "_agent"):
            # The detail answers with the agent as the database writes it:
            # no instance of every column, no serializer (agents.sql).
            self._agent = selectors.agent_get_represented_for_user(user=self.request.user,
                                                                   ref=self.kwargs[self.agent_url_kwarg])
        return super().get_agent()

    def retrieve(self, request, agent=None):
        agent = self.get_agent()
        etag = services.agent_etag(agent)
        if not_modified(request, etag):
            return Response(status=http.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return data_response(JSONText(agent.represented_json), headers={"ETag": etag})

    def partial_update(self, request, agent=None):
        agent = services.agent_update(agent=self.get_agent(), actor=self.actor(),
                                      changes=raw_agent_fields(request.data), if_match=if_match_values(request))
        return agent_response(request, agent)

    def update(self, request, agent=None):
        try:
            existing = self.get_agent()
        except NotFound:
            existing = None
        if existing is not None:
            require_role(existing.role, Role.ADMIN)
        result, created = services.agent_put(actor=self.actor(), ref=agent, existing=existing,
                                             data=raw_agent_fields(request.data), if_match=if_match_values(request))
        return agent_response(request, result, status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)

    def destroy(self, request, agent=None):
        services.agent_delete(agent=self.get_agent(), actor=self.actor(), if_match=if_match_values(request))
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Is this agent name free for you?", parameters=[CheckNameQuerySerializer],
                   responses=enveloped(CheckNameSerializer))
    @action(detail=False, methods=["get"], url_path="check-name")
    def check_name(self, request):
        query = validated(CheckNameQuerySerializer(data=request.query_params))
        result = selectors.agent_name_check(user=request.user, **query)
        return data_response(CheckNameSerializer(result).data)

    def _set_status(self, request, status):
        agent = services.agent_set_status(agent=self.get_agent(), actor=self.actor(), status=status)
        return agent_response(request, agent)

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
        body = validated(DuplicateSerializer(data=request.data))
        copy_ = services.agent_duplicate(agent=self.get_agent(), actor=self.actor(), **body)
        return agent_response(request, copy_, status=http.HTTP_201_CREATED)

    @extend_schema(summary="Hand the agent to another user; you stay on as admin", request=TransferSerializer,
                   parameters=[AGENT_PATH], responses=enveloped(AgentSerializer))
    @action(detail=True, methods=["post"])
    def transfer(self, request, agent=None):
        body = validated(TransferSerializer(data=request.data))
        new_owner = chosen_user(body)
        agent = services.ownership_transfer(agent=self.get_agent(), actor=self.actor(),
                                            actor_role=self.agent_role, new_owner=new_owner)
        return agent_response(request, agent)


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

    def count_rows(self, queryset) -> int:
        return selectors.agent_count_for_user(self.request.user)

    def list(self, request):
        agents = selectors.agents_visible_to(request.user).only("id", "slug", "name", "name_key", "created_at")
        page = self.paginate_queryset(agents)
        return self.get_paginated_response(AccessibleAgentSerializer(page, many=True).data)
