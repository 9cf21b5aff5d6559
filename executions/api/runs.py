"""What every way of starting a run shares (API.md §4): the idempotency and
correlation headers, and the answers — a run's result, or where to follow a
queued run.  The request body is ``executions.inputs.RunRequestSerializer``."""

import uuid

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response

from core.envelope import data_response
from core.errors import ServiceUnavailable, ValidationFailed
from executions.models import Execution, ExecutionStatus

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Also X-Idempotency-Key. The same key and body within 24 h returns the first execution; "
                "another body → 422; while the first is still running → 409.")
CORRELATION_ID = OpenApiParameter(
    "X-Correlation-ID", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Stored with the execution and echoed in the response (one is generated when absent).")


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


class CitationSerializer(serializers.Serializer):
    document_id = serializers.CharField()
    filename = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    chunk = serializers.IntegerField(help_text="The passage's position in its document (0-based).")


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
    citations = CitationSerializer(many=True, help_text="Knowledge passages the run's answer used.")
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


def queued_run_response(request, execution: Execution, *, created: bool, correlation: str) -> Response:
    """202 with where to follow a queued run (``Location``), for every way of
    queueing one; a replayed idempotency key says so.  503 when the broker
    refused a new execution (it was failed at once, so it never waits)."""
    if created and execution.status == ExecutionStatus.FAILED:
        raise ServiceUnavailable("The task queue is unavailable; try again shortly.",
                                 instance=execution_path(execution), headers={"Retry-After": "5"})
    url = execution_url(request, execution)
    headers = {"X-Correlation-ID": execution.correlation_id or correlation, "Location": url}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return data_response({"exec_id": str(execution.pk), "exec_url": url, "status": execution.status},
                         status=http.HTTP_202_ACCEPTED, headers=headers)
