"""Input and output shapes of the agents API.  Rules live in the services;
these only translate JSON."""

from rest_framework import serializers

from accounts.roles import MEMBER_ROLE_CHOICES, Role
from agents.config import AgentConfigSerializer, public_config
from agents.models import AgentStatus, RuntimeState
from agents.selectors import agent_stats
from agents.validation import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX, TAG_MAX


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


_DATETIME = serializers.DateTimeField()


class AgentSerializer(serializers.Serializer):
    """The agent representation of API.md §3."""

    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    runtime = serializers.SerializerMethodField()
    owner = UserRefSerializer()
    role = serializers.ChoiceField(choices=Role.choices, help_text="The caller's role on this agent.")
    config = serializers.SerializerMethodField()
    pipeline = PipelineSerializer()
    stats = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_activity = serializers.DateTimeField()

    def get_tags(self, agent) -> list[str]:
        return [tag.name for tag in agent.tag_rows.all()]

    def get_runtime(self, agent) -> RuntimeSerializer:
        # Built by hand: a nested serializer per agent costs more than the rest of the row.
        started = agent.runtime_started_at
        return {"state": agent.runtime_state, "deployed_version": agent.deployed_version,
                "started_at": _DATETIME.to_representation(started) if started else None}

    def get_config(self, agent) -> AgentConfigSerializer:
        return public_config(agent.config)

    def get_stats(self, agent) -> StatsSerializer:
        return agent_stats(agent)

    def to_representation(self, agent):
        data = super().to_representation(agent)
        data["pipeline"] = agent.pipeline or {"nodes": [], "edges": []}
        return data


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


class TransferSerializer(UserChoiceSerializer):
    """The new owner."""


class AuditLogEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    action = serializers.CharField()
    actor = UserRefSerializer(allow_null=True)
    token_name = serializers.CharField(help_text="The API token used, empty for a browser session.")
    changes = serializers.DictField(help_text='{"dotted.field": {"old": …, "new": …}}')
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    created_at = serializers.DateTimeField()


class AccessibleAgentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
