"""``/agents/{agent}/audit-log``: who changed what on an agent, newest first."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from accounts.roles import Role
from agents import selectors
from agents.api.base import AGENT_PATH, AgentScopedViewMixin, UserRefSerializer, agent_rule
from agents.models import AuditLogEntry


class AuditLogEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    action = serializers.CharField()
    actor = UserRefSerializer(allow_null=True)
    token_name = serializers.CharField(help_text="The API token used, empty for a browser session.")
    changes = serializers.DictField(help_text='{"dotted.field": {"old": …, "new": …}}')
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema_view(
    list=extend_schema(summary="Who changed what on this agent, newest first", parameters=[AGENT_PATH],
                       responses=AuditLogEntrySerializer(many=True)),
)
class AuditLogViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = AuditLogEntrySerializer
    queryset = AuditLogEntry.objects.none()  # for the schema
    sort_fields = ("created_at",)
    default_sort = "-created_at"
    rules = {"list": agent_rule(Role.VIEWER)}

    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.audit_log_for_agent(agent=self.get_agent()))
        return self.get_paginated_response(AuditLogEntrySerializer(page, many=True).data)
