"""Run requests, execution results and execution representations."""

from django.conf import settings
from rest_framework import serializers

from agents.config import StrictSerializer
from executions.models import ExecutionStatus, Trigger

MAX_PROMPT_CHARS = 200_000


class RunOptionsSerializer(StrictSerializer):
    timeout = serializers.IntegerField(
        min_value=1, required=False,
        help_text="Milliseconds the run may take (up to AGENTRY_EXECUTION_MAX_TIMEOUT); then 504 and timed_out.")
    trace = serializers.BooleanField(default=False, help_text="Include the node-by-node trace in the result.")
    version = serializers.JSONField(required=False, help_text='"draft" (default), "deployed" or a version index.')

    def validate_timeout(self, value):
        return _check_timeout_ms(value)


def _check_timeout_ms(value: int) -> int:
    maximum = int(settings.AGENTRY_EXECUTION_MAX_TIMEOUT * 1000)
    if value > maximum:
        raise serializers.ValidationError(f"At most {maximum} ms.")
    return value


class RunRequestSerializer(StrictSerializer):
    """One body for every run endpoint: ``input``, or ``prompt`` (becomes
    ``input.message``), or ``action`` with ``with``; plus ``options``.  The
    Compozy-style ``timeout`` in seconds is accepted too."""

    input = serializers.DictField(required=False, help_text="Input validated against the pipeline's input schema.")
    prompt = serializers.CharField(max_length=MAX_PROMPT_CHARS, required=False, allow_blank=True,
                                   trim_whitespace=False)
    action = serializers.CharField(max_length=64, required=False)
    # ``with`` is a Python keyword, so it joins the fields in get_fields().
    timeout = serializers.IntegerField(min_value=1, required=False, help_text="Seconds (Compozy style).")
    options = RunOptionsSerializer(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["with"] = serializers.DictField(
            required=False, help_text="Structured parameters for an action (or extra input beside a prompt).")
        return fields

    def validate(self, attrs):
        options = attrs.get("options", {})
        if "timeout" in attrs and "timeout" in options:
            raise serializers.ValidationError(
                {"timeout": ["Give timeout (seconds) or options.timeout (ms), not both."]})
        if "timeout" in attrs:
            try:
                _check_timeout_ms(attrs["timeout"] * 1000)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"timeout": exc.detail}) from None
        return attrs

    def run_fields(self) -> dict:
        """Keyword arguments for ``services.run_request``."""
        data = self.validated_data
        options = data.get("options", {})
        timeout_ms = options.get("timeout") or (data["timeout"] * 1000 if "timeout" in data else None)
        return {"input": data.get("input"), "prompt": data.get("prompt"), "action": data.get("action"),
                "with_": data.get("with"), "timeout_ms": timeout_ms, "trace": options.get("trace", False),
                "version": options.get("version")}


class TokensSerializer(serializers.Serializer):
    prompt = serializers.IntegerField()
    completion = serializers.IntegerField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    node_id = serializers.CharField(allow_null=True)


class TraceStepSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    node_id = serializers.CharField()
    type = serializers.CharField(source="node_type")
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    input = serializers.JSONField(allow_null=True)
    output = serializers.JSONField(allow_null=True)
    provider = serializers.CharField()
    model = serializers.CharField()
    tokens_used = serializers.IntegerField()
    tokens = serializers.SerializerMethodField()
    cost_usd = serializers.FloatField()
    attempts = serializers.JSONField(help_text="Every provider call: retries and fallbacks with their outcome.")
    error = serializers.JSONField(allow_null=True)

    def get_tokens(self, step) -> TokensSerializer:
        return {"prompt": step.tokens_prompt, "completion": step.tokens_completion}


class RunResultSerializer(serializers.Serializer):
    """Schema of a synchronous run's result (built by ``execution_result``)."""

    execution_id = serializers.UUIDField()
    exec_id = serializers.UUIDField(required=False, help_text="The same id, for Compozy-style clients.")
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)
    output = serializers.JSONField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    tokens_used = serializers.IntegerField()
    tokens = TokensSerializer()
    cost_usd = serializers.FloatField()
    version = serializers.IntegerField(allow_null=True, help_text="Version index run; null for the draft.")
    error = ErrorSerializer(allow_null=True)
    trace = TraceStepSerializer(many=True, required=False)


class QueuedRunSerializer(serializers.Serializer):
    exec_id = serializers.UUIDField()
    exec_url = serializers.URLField()
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)


class AgentRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()


class ExecutionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    agent = AgentRefSerializer()
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)
    trigger = serializers.ChoiceField(choices=Trigger.choices)
    version = serializers.IntegerField(allow_null=True)
    input = serializers.JSONField()
    output = serializers.JSONField(allow_null=True)
    error = ErrorSerializer(allow_null=True)
    correlation_id = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)
    tokens_used = serializers.IntegerField()
    tokens = serializers.SerializerMethodField()
    cost_usd = serializers.FloatField()
    cancel_requested = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_tokens(self, execution) -> TokensSerializer:
        return {"prompt": execution.tokens_prompt, "completion": execution.tokens_completion}


class ExecutionDetailSerializer(ExecutionSerializer):
    trace = TraceStepSerializer(many=True, source="trace_steps")


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
