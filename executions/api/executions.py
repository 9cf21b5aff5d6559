"""Runs and executions (API.md §4): ``/agents/{agent}/invoke``, ``/run``,
``/run/stream`` and ``/executions``, and ``/executions/{id}`` with its events
and cancel.  Check permission, parse, call a service, serialize.  Streams are
Server-Sent Events built in ``executions.api.sse``."""

import functools
import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated

from accounts.actor import Actor
from accounts.models import Scope
from accounts.permissions import ActionRulePermission, Rule
from accounts.roles import Role
from agents.api.base import AGENT_PATH, AgentScopedViewMixin
from core.awaiting import Awaiting
from core.envelope import data_response, enveloped
from core.errors import BadGateway, Conflict, GatewayTimeout, UnprocessableContent
from core.renderers import JSONRenderer
from executions import selectors
from executions.api.filters import ExecutionFilter
from executions.api.runs import (
    CORRELATION_ID,
    IDEMPOTENCY_KEY,
    CitationSerializer,
    ErrorSerializer,
    QueuedRunSerializer,
    RunResultSerializer,
    TokensSerializer,
    TraceStepSerializer,
    execution_path,
    queued_run_response,
    run_headers,
)
from executions.api.sse import LAST_EVENT_ID, EventStreamRenderer, parse_last_event_id, stream_response
from executions.inputs import RunRequestSerializer
from executions.models import Execution, ExecutionStatus, Trigger
from executions.services import runs
from executions.services.queue import execution_queue

logger = logging.getLogger("agentry.executions")

READ_RULE = Rule(Scope.AGENTS_READ, Role.VIEWER)
RUN_RULE = Rule(Scope.AGENTS_RUN, Role.OPERATOR)

EXECUTION_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Execution id.")
SSE_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description="text/event-stream: `id: <event id>`, `event: <kind>`, `data: <JSON>` per event; ends after "
                "`event: done`, whose data is the run's result.")
RUN_ERRORS = "A failed run answers 502 provider_error, 504 timeout or 422 pipeline_error; the problem's " \
             "`instance` is the execution's URL and the execution keeps its partial trace."

# How a finished run that did not succeed answers a synchronous caller.
_FAILURES = {
    "provider_error": BadGateway,
    "timeout": GatewayTimeout,
    "validation_error": UnprocessableContent,
}


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
    citations = CitationSerializer(many=True, help_text="Knowledge passages the run's answer used.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_tokens(self, execution) -> TokensSerializer:
        return {"prompt": execution.tokens_prompt, "completion": execution.tokens_completion}


class ExecutionDetailSerializer(ExecutionSerializer):
    trace = TraceStepSerializer(many=True, source="trace_steps")


def stream_renderers(view):
    """Streaming actions also accept ``Accept: text/event-stream``; the rest speak JSON only."""
    if view.action in ("stream", "events"):
        return [JSONRenderer(), EventStreamRenderer()]
    return [renderer() for renderer in view.renderer_classes]


def _trigger(request) -> str:
    return Trigger.API if request.auth is not None else Trigger.MANUAL


def _trace(execution: Execution) -> list:
    return TraceStepSerializer(selectors.execution_trace(execution), many=True).data


def sync_result_response(request, execution: Execution, *, correlation: str, created: bool, compozy: bool = False):
    """200 with the result, or the run's problem (the execution is kept either way)."""
    headers = {"X-Correlation-ID": execution.correlation_id or correlation, "X-Execution-ID": str(execution.pk)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    if execution.status != ExecutionStatus.SUCCEEDED:
        error = execution.error or {}
        instance = execution_path(execution)
        if execution.status == ExecutionStatus.CANCELLED:
            raise Conflict("The execution was cancelled.", instance=instance, headers=headers)
        if execution.status == ExecutionStatus.TIMED_OUT:
            raise GatewayTimeout(error.get("message", "The execution timed out."), instance=instance, headers=headers)
        problem = _FAILURES.get(error.get("code"))
        if problem is None:
            raise UnprocessableContent(error.get("message", "The execution failed."), code="pipeline_error",
                                       instance=instance, headers=headers)
        raise problem(error.get("message", "The execution failed."), instance=instance, headers=headers,
                      errors=error.get("errors"))
    trace = _trace(execution) if execution.options.get("trace") else None
    result = runs.execution_result(execution, trace=trace)
    if compozy:
        result["exec_id"] = result["execution_id"]
    return data_response(result, headers=headers)


@extend_schema_view(
    create=extend_schema(summary="Run the agent and wait (Compozy-style body; timeout in seconds)",
                         request=RunRequestSerializer, parameters=[AGENT_PATH, IDEMPOTENCY_KEY, CORRELATION_ID],
                         responses={200: OpenApiResponse(enveloped(RunResultSerializer), description=RUN_ERRORS)}),
    list=extend_schema(summary="List the agent's executions", parameters=[AGENT_PATH],
                       responses=ExecutionSerializer(many=True)),
    retrieve=extend_schema(summary="Get one of the agent's executions with its trace",
                           parameters=[AGENT_PATH, EXECUTION_PATH], responses=enveloped(ExecutionDetailSerializer)),
)
class AgentExecutionViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/invoke``, ``/run``, ``/run/stream`` and ``/executions``."""

    serializer_class = ExecutionSerializer
    agent_representation = False
    filterset_class = ExecutionFilter
    queryset = Execution.objects.none()
    sort_fields = ("created_at",)
    default_sort = "-created_at"
    rules = {"invoke": RUN_RULE, "create": RUN_RULE, "start_async": RUN_RULE, "run": RUN_RULE,
             "stream": RUN_RULE, "list": READ_RULE, "retrieve": READ_RULE}

    def get_renderers(self):
        return stream_renderers(self)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.execution_list_for_agent(agent=self.get_agent())

    def _run_arguments(self, request) -> dict:
        """What the run services take from the request: the agent, the parsed run request and the headers."""
        agent = self.get_agent()
        run_request = runs.run_request_from_body(agent, request.data)
        key, correlation = run_headers(request)
        return {"agent": agent, "actor": Actor.from_request(request), "trigger": _trigger(request),
                "request": run_request, "idempotency_key": key, "correlation_id": correlation}

    def _start(self, request, *, queued: bool):
        arguments = self._run_arguments(request)
        execution, created = runs.execution_start(queued=queued, **arguments)
        return execution, created, arguments["correlation_id"]

    def _sync(self, request, *, compozy: bool):
        execution, created, correlation = self._start(request, queued=False)
        if not created:
            return sync_result_response(request, execution, correlation=correlation, created=False, compozy=compozy)
        # The run waits for its model on the event loop, not on this thread (core.awaiting);
        # what it reads before its first node is read here, while the thread is ours.
        runs.run_prepare(execution)
        # Its answer is built in the trip that finishes the run (in_last_trip).
        return Awaiting.drf(self, request, functools.partial(runs.run_started, execution), functools.partial(
            sync_result_response, request, correlation=correlation, created=True, compozy=compozy), in_last_trip=True)

    @extend_schema(summary="Run the agent and wait for its result", request=RunRequestSerializer,
                   parameters=[AGENT_PATH, IDEMPOTENCY_KEY, CORRELATION_ID],
                   responses={200: OpenApiResponse(enveloped(RunResultSerializer), description=RUN_ERRORS)})
    def invoke(self, request, agent=None):
        return self._sync(request, compozy=False)

    def create(self, request, agent=None):
        return self._sync(request, compozy=True)

    def _async(self, request):
        arguments = self._run_arguments(request)
        execution, created = execution_queue(**arguments)
        return queued_run_response(request, execution, created=created, correlation=arguments["correlation_id"])

    @extend_schema(summary="Queue a run for a worker", request=RunRequestSerializer,
                   parameters=[AGENT_PATH, IDEMPOTENCY_KEY, CORRELATION_ID],
                   responses={202: enveloped(QueuedRunSerializer)})
    def start_async(self, request, agent=None):
        return self._async(request)

    @extend_schema(summary="Queue a run for a worker (same as executions/async)", request=RunRequestSerializer,
                   parameters=[AGENT_PATH, IDEMPOTENCY_KEY, CORRELATION_ID],
                   responses={202: enveloped(QueuedRunSerializer)})
    def run(self, request, agent=None):
        return self._async(request)

    @extend_schema(summary="Run the agent and stream its steps as Server-Sent Events",
                   request=RunRequestSerializer, parameters=[AGENT_PATH, IDEMPOTENCY_KEY, CORRELATION_ID],
                   responses={(200, "text/event-stream"): SSE_RESPONSE})
    def stream(self, request, agent=None):
        execution, created, correlation = self._start(request, queued=True)
        headers = {"X-Correlation-ID": execution.correlation_id or correlation, "X-Execution-ID": str(execution.pk)}
        if created:
            runs.execution_run_in_background(execution.pk)
        else:
            headers["Idempotent-Replayed"] = "true"  # the first run's stream, replayed from its stored events
        return stream_response(request, execution.pk, kinds=("step", "done"), headers=headers)

    def list(self, request, agent=None):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)

    def retrieve(self, request, agent=None, id=None):
        execution = selectors.execution_get_for_user(user=request.user, execution_id=id, agent=self.get_agent())
        execution.trace_steps = selectors.execution_trace(execution)
        return data_response(ExecutionDetailSerializer(execution).data)


@extend_schema_view(
    retrieve=extend_schema(summary="Get an execution with its trace", parameters=[EXECUTION_PATH],
                           responses=enveloped(ExecutionDetailSerializer)),
    cancel=extend_schema(summary="Cancel a queued or running execution", request=None, parameters=[EXECUTION_PATH],
                         responses=enveloped(ExecutionSerializer)),
    events=extend_schema(summary="Follow an execution's events (SSE, resumable with Last-Event-ID)",
                         parameters=[EXECUTION_PATH, LAST_EVENT_ID],
                         responses={(200, "text/event-stream"): SSE_RESPONSE}),
)
class ExecutionViewSet(viewsets.GenericViewSet):
    """``/executions/{id}``, ``/executions/{id}/events`` and ``/executions/{id}/cancel``."""

    permission_classes = [IsAuthenticated, ActionRulePermission]
    serializer_class = ExecutionSerializer
    queryset = Execution.objects.none()
    rules = {"retrieve": READ_RULE, "events": READ_RULE, "cancel": RUN_RULE}

    def get_renderers(self):
        return stream_renderers(self)

    def get_agent(self):
        return self.get_execution().agent

    @property
    def agent_role(self) -> Role:
        return Role(self.get_agent().role)

    def get_execution(self) -> Execution:
        if not hasattr(self, "_execution"):
            self._execution = selectors.execution_get_for_user(user=self.request.user, execution_id=self.kwargs["id"])
        return self._execution

    def retrieve(self, request, id=None):
        execution = self.get_execution()
        execution.trace_steps = selectors.execution_trace(execution)
        return data_response(ExecutionDetailSerializer(execution).data)

    @action(detail=True, methods=["post"])
    def cancel(self, request, id=None):
        execution = runs.execution_cancel(execution=self.get_execution())
        return data_response(ExecutionSerializer(execution).data)

    @action(detail=True, methods=["get"])
    def events(self, request, id=None):
        execution = self.get_execution()
        return stream_response(request, execution.pk, parse_last_event_id(request))
