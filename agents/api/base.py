"""What every agent resource of the API builds on: the ``{agent}`` lookup
through the visibility selector, the rule an action on an agent needs, the
shared OpenAPI parameters, and the agent representation most writes answer
with.  Rules live in the services; views only translate HTTP."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticated

from accounts.actor import Actor
from accounts.models import Scope
from accounts.permissions import ActionRulePermission, Rule
from accounts.roles import Role
from agents import selectors, services
from agents.config import AgentConfigSerializer, public_config
from agents.models import AgentStatus, RuntimeState
from core.datetimes import api_datetime
from core.envelope import data_response

AGENT_PATH = OpenApiParameter("agent", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The agent's UUID or slug.")
IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                            description="Strong ETag from a previous response; 412 if the agent has changed.")
NO_CONTENT = OpenApiResponse(description="Deleted; no body.")


def agent_rule(role: Role) -> Rule:
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


# --- the agent representation ----------------------------------------------------------------

class UserRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class RuntimeSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=RuntimeState.choices)
    deployed_version = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)


class StatsSerializer(serializers.Serializer):
    versions = serializers.IntegerField()
    executions = serializers.IntegerField()
    threads = serializers.IntegerField()
    messages = serializers.IntegerField()
    schedules = serializers.IntegerField()
    artifacts = serializers.IntegerField()
    knowledge_documents = serializers.IntegerField()


class PipelineNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    data = serializers.DictField()


class PipelineEdgeSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()
    target = serializers.CharField()
    condition = serializers.ChoiceField(choices=["true", "false"], required=False)


class PipelineSerializer(serializers.Serializer):
    nodes = PipelineNodeSerializer(many=True)
    edges = PipelineEdgeSerializer(many=True)


class AgentSerializer(serializers.Serializer):
    """The agent representation of API.md §3."""

    # The fields declare the representation for the OpenAPI schema;
    # to_representation builds it by hand, because a DRF field call per value
    # cost more than the rest of a list page.
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    runtime = RuntimeSerializer(read_only=True)
    owner = UserRefSerializer()
    role = serializers.ChoiceField(choices=Role.choices, help_text="The caller's role on this agent.")
    config = AgentConfigSerializer(read_only=True)
    pipeline = PipelineSerializer(read_only=True)
    stats = StatsSerializer(read_only=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_activity = serializers.DateTimeField()

    def to_representation(self, agent) -> dict:
        return {
            "id": str(agent.pk),
            "slug": agent.slug,
            "name": agent.name,
            "description": agent.description,
            "tags": agent.tag_names,
            "status": agent.status,
            "runtime": {"state": agent.runtime_state, "deployed_version": agent.deployed_version,
                        "started_at": api_datetime(agent.runtime_started_at)},
            "owner": {"id": str(agent.owner_id), "email": selectors.agent_owner_email(agent)},
            "role": agent.role,
            "config": public_config(agent.config),
            # As stored (validated on write), never re-serialized node by node.
            "pipeline": agent.pipeline or {"nodes": [], "edges": []},
            "stats": selectors.agent_stats(agent),
            "created_at": api_datetime(agent.created_at),
            "updated_at": api_datetime(agent.updated_at),
            "last_activity": api_datetime(agent.last_activity),
        }


def agent_response(request, agent, *, status=http.HTTP_200_OK):
    """Render the agent as the caller sees it (fresh from the database), with its ETag."""
    agent = selectors.agent_get_for_user(user=request.user, ref=str(agent.pk))
    return data_response(AgentSerializer(agent).data, status=status,
                         headers={"ETag": services.agent_etag(agent)})
