"""``GET /agents/{agent}/cost-estimate``: the tokens and cost a run is likely
to take, statically from the pipeline and from the agent's history."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from accounts.roles import Role
from agents.api.base import AGENT_PATH, AgentScopedViewMixin, agent_rule
from core.envelope import data_response, enveloped
from core.validation import validated
from executions.api.runs import TokensSerializer
from executions.costs import cost_estimate
from executions.models import Execution


class CostQuerySerializer(serializers.Serializer):
    sample_size = serializers.IntegerField(min_value=1, max_value=1000, default=100,
                                           help_text="How many recent succeeded executions the history uses.")


class StaticNodeCostSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField()
    provider = serializers.CharField()
    model = serializers.CharField()
    tokens = TokensSerializer()
    tokens_used = serializers.IntegerField()
    cost_usd = serializers.FloatField()
    priced = serializers.BooleanField(help_text="False when the provider lists no price for the model.")
    max_calls = serializers.IntegerField(help_text="Model calls the node may make (an agent's max_iterations).")


class StaticCostSerializer(serializers.Serializer):
    tokens = TokensSerializer()
    tokens_used = serializers.IntegerField()
    cost_usd = serializers.FloatField(help_text="One call per model node, completions at max_tokens.")
    max_cost_usd = serializers.FloatField(help_text="With every agent node using all its iterations.")
    nodes = StaticNodeCostSerializer(many=True)


class HistoryFiguresSerializer(serializers.Serializer):
    tokens_used = serializers.FloatField()
    cost_usd = serializers.FloatField()
    duration_ms = serializers.FloatField()


class HistoryNodeCostSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField()
    runs = serializers.IntegerField()
    avg_tokens = serializers.DictField(child=serializers.FloatField())
    avg_cost_usd = serializers.FloatField()


class HistoryCostSerializer(serializers.Serializer):
    executions = serializers.IntegerField()
    avg = HistoryFiguresSerializer(allow_null=True)
    p95 = HistoryFiguresSerializer(allow_null=True)
    nodes = HistoryNodeCostSerializer(many=True)


class CostEstimateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    static = StaticCostSerializer()
    history = HistoryCostSerializer()


class CostEstimateViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/cost-estimate``."""

    rules = {"retrieve": agent_rule(Role.VIEWER)}
    agent_representation = False
    queryset = Execution.objects.none()

    @extend_schema(summary="Estimated tokens and cost per run: static and from history",
                   parameters=[AGENT_PATH, CostQuerySerializer], responses=enveloped(CostEstimateSerializer))
    def retrieve(self, request, agent=None):
        query = validated(CostQuerySerializer(data=request.query_params))
        return data_response(cost_estimate(self.get_agent(), sample_size=query["sample_size"]))
