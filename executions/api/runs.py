"""What every way of starting a run shares (API.md §4): the request body,
the idempotency and correlation headers, and the answers — a run's result,
or where to follow a queued run."""

import uuid

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.errors import ValidationFailed
from core.validation import StrictSerializer
from executions.models import Execution, ExecutionStatus

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Also X-Idempotency-Key. The same key and body within 24 h returns the first execution; "
                "another body → 422; while the first is still running → 409.")
CORRELATION_ID = OpenApiParameter(
    "X-Correlation-ID", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Stored with the execution and echoed in the response (one is generated when absent).")
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


def run_headers(request) -> tuple[str, str]:
    key = (request.headers.get("Idempotency-Key") or request.headers.get("X-Idempotency-Key") or "").strip()
    if len(key) > 255:
        raise ValidationFailed("Idempotency-Key is at most 255 characters.",
                               errors={"Idempotency-Key": ["At most 255 characters."]})
    correlation = (request.headers.get("X-Correlation-ID") or "").strip()[:200] or str(uuid.uuid4())
    return key, correlation


def execution_path(execution: Execution) -> str:
    """The execution's path: where it is followed, and the ``instance`` of its problems."""
    return reverse("execution-detail", kwargs={"id": execution.pk})


def execution_url(request, execution: Execution) -> str:
    return request.build_absolute_uri(execution_path(execution))
