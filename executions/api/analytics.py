"""``GET /agents/{agent}/analytics?days=30``: an agent's activity (API.md §6),
for its viewers with ``agents:read``.  The numbers come from
``executions.analytics``, which the console's dashboard shares."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from accounts.roles import Role
from agents.api.base import AGENT_PATH, AgentScopedViewMixin, agent_rule
from core.envelope import data_response, enveloped
from core.validation import validated
from executions.analytics import agent_analytics
from executions.inputs import AnalyticsQuerySerializer

DAYS = OpenApiParameter("days", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                        description="Days to look back, today (UTC) included: 1–365 (default 30).")


class DailyRunsSerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()
    tokens = serializers.IntegerField()
    cost_usd = serializers.FloatField()


class LatencySerializer(serializers.Serializer):
    p50 = serializers.IntegerField(allow_null=True)
    p95 = serializers.IntegerField(allow_null=True)


class TtftSerializer(serializers.Serializer):
    p50 = serializers.IntegerField(allow_null=True)


class AnalyticsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateTimeField(help_text="Start of the range: midnight UTC, days - 1 days ago.")
    sessions_count = serializers.IntegerField(help_text="Threads with a message in the range.")
    runs_count = serializers.IntegerField(help_text="Executions started in the range.")
    success_rate = serializers.FloatField(allow_null=True, help_text="Succeeded / finished; null when none finished.")
    total_tokens = serializers.IntegerField()
    total_cost_usd = serializers.FloatField()
    daily_runs = DailyRunsSerializer(many=True, help_text="Every day of the range, oldest first, zeros included.")
    latency_ms = LatencySerializer(help_text="Nearest-rank percentiles of finished executions' duration.")
    ttft_ms = TtftSerializer(help_text="Median time to the first streamed token of assistant messages.")
    runs_by_trigger = serializers.DictField(child=serializers.IntegerField(),
                                            help_text="Executions per trigger, every trigger listed.")


@extend_schema_view(
    retrieve=extend_schema(summary="The agent's activity over the last days", parameters=[AGENT_PATH, DAYS],
                           responses=enveloped(AnalyticsSerializer)),
)
class AnalyticsViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    serializer_class = AnalyticsSerializer
    agent_representation = False
    rules = {"retrieve": agent_rule(Role.VIEWER)}

    def retrieve(self, request, agent=None):
        query = {key: request.query_params[key] for key in ("days",) if key in request.query_params}
        days = validated(AnalyticsQuerySerializer(data=query))["days"]
        return data_response(AnalyticsSerializer(agent_analytics(self.get_agent(), days=days)).data)
