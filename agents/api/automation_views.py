"""Automation endpoints: cron schedules, the primary schedule and webhooks
(API.md §3).  Each view checks permission, calls a service and renders."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Scope
from accounts.permissions import Rule
from accounts.roles import Role
from agents import selectors
from agents.api.automation_serializers import ScheduleSerializer, WebhookSerializer
from agents.api.views import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, _rule
from agents.models import Schedule
from agents.services import schedules, webhooks
from core.envelope import data_response, enveloped
from core.errors import ServiceUnavailable, ValidationFailed
from executions.api.serializers import QueuedRunSerializer
from executions.api.views import CORRELATION_ID, IDEMPOTENCY_KEY, execution_url, run_headers
from executions.models import ExecutionStatus
from executions.services import triggers

SCHEDULE_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Schedule id.")
SCHEDULE_FIELDS = schedules.ScheduleFieldsSerializer
READ, WRITE = _rule(Role.VIEWER), _rule(Role.ADMIN)


@extend_schema_view(
    list=extend_schema(summary="List the agent's cron schedules", parameters=[AGENT_PATH],
                       responses=ScheduleSerializer(many=True)),
    create=extend_schema(summary="Add a cron schedule", parameters=[AGENT_PATH], request=SCHEDULE_FIELDS,
                         responses={201: enveloped(ScheduleSerializer)}),
    retrieve=extend_schema(summary="Get a schedule with its next runs", parameters=[AGENT_PATH, SCHEDULE_PATH],
                           responses=enveloped(ScheduleSerializer)),
    partial_update=extend_schema(summary="Change some of a schedule's fields", parameters=[AGENT_PATH, SCHEDULE_PATH],
                                 request=SCHEDULE_FIELDS, responses=enveloped(ScheduleSerializer)),
    destroy=extend_schema(summary="Delete a schedule", parameters=[AGENT_PATH, SCHEDULE_PATH],
                          responses={204: NO_CONTENT}),
)
class ScheduleViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/schedules`` and ``/agents/{agent}/schedules/{id}``."""

    serializer_class = ScheduleSerializer
    queryset = Schedule.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("created_at",)
    default_sort = "created_at"
    rules = {"list": READ, "retrieve": READ, "create": WRITE, "partial_update": WRITE, "destroy": WRITE}

    def get_schedule(self) -> Schedule:
        return selectors.schedule_get_for_agent(agent=self.get_agent(), schedule_id=self.kwargs["id"])

    def list(self, request, agent=None):
        page = self.paginate_queryset(selectors.schedule_list_for_agent(agent=self.get_agent()))
        return self.get_paginated_response(ScheduleSerializer(page, many=True).data)

    def create(self, request, agent=None):
        schedule = schedules.schedule_create(agent=self.get_agent(), actor=self.actor(), data=request.data)
        return data_response(ScheduleSerializer(schedule).data, status=http.HTTP_201_CREATED)

    def retrieve(self, request, agent=None, id=None):
        return data_response(ScheduleSerializer(self.get_schedule()).data)

    def partial_update(self, request, agent=None, id=None):
        schedule = schedules.schedule_update(schedule=self.get_schedule(), actor=self.actor(), data=request.data)
        return data_response(ScheduleSerializer(schedule).data)

    def destroy(self, request, agent=None, id=None):
        schedules.schedule_delete(schedule=self.get_schedule(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)


@extend_schema_view(
    create=extend_schema(
        summary="Set the primary schedule: create it (201) or replace it whole (200)", parameters=[AGENT_PATH],
        request=SCHEDULE_FIELDS,
        responses={200: OpenApiResponse(enveloped(ScheduleSerializer), description="Replaced."),
                   201: OpenApiResponse(enveloped(ScheduleSerializer), description="Created.")}),
    destroy=extend_schema(summary="Delete the primary schedule (404 when there is none)", parameters=[AGENT_PATH],
                          responses={204: NO_CONTENT}),
)
class PrimaryScheduleViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/schedule``: the one schedule simple clients manage."""

    serializer_class = ScheduleSerializer
    queryset = Schedule.objects.none()  # for the schema
    agent_representation = False
    rules = {"create": WRITE, "destroy": WRITE}

    def create(self, request, agent=None):
        schedule, created = schedules.primary_schedule_set(agent=self.get_agent(), actor=self.actor(),
                                                           data=request.data)
        return data_response(ScheduleSerializer(schedule).data,
                             status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)

    def destroy(self, request, agent=None):
        schedules.primary_schedule_delete(agent=self.get_agent(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)


def _webhook_response(request, agent, webhook: webhooks.Webhook):
    url = request.build_absolute_uri(f"/api/v1/hooks/{agent.pk}/{webhook.secret}") if webhook.secret else None
    return data_response(WebhookSerializer({"url": url, "secret": webhook.secret, "enabled": webhook.enabled}).data)


WEBHOOK_NOTE = ("Reading the URL needs the admin role and, like rotating it, the agents:write scope: the URL "
                "starts runs without any other credential.")


@extend_schema_view(
    retrieve=extend_schema(summary="Get the agent's webhook URL and secret", description=WEBHOOK_NOTE,
                           parameters=[AGENT_PATH], responses=enveloped(WebhookSerializer)),
    rotate=extend_schema(summary="Create the webhook or replace its secret (the old URL stops working)",
                         request=None, parameters=[AGENT_PATH], responses=enveloped(WebhookSerializer)),
    destroy=extend_schema(summary="Disable the webhook (404 when it is not enabled)", parameters=[AGENT_PATH],
                          responses={204: NO_CONTENT}),
)
class WebhookViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/webhook`` and ``/agents/{agent}/webhook/rotate``."""

    serializer_class = WebhookSerializer
    queryset = Schedule.objects.none()  # for the schema
    agent_representation = False
    rules = {"retrieve": Rule(Scope.AGENTS_WRITE, Role.ADMIN), "rotate": WRITE, "destroy": WRITE}

    def retrieve(self, request, agent=None):
        agent = self.get_agent()
        return _webhook_response(request, agent, webhooks.webhook_get(agent))

    @action(detail=False, methods=["post"])
    def rotate(self, request, agent=None):
        agent = self.get_agent()
        return _webhook_response(request, agent, webhooks.webhook_rotate(agent=agent, actor=self.actor()))

    def destroy(self, request, agent=None):
        webhooks.webhook_disable(agent=self.get_agent(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)


HOOK_INSTANCE = "/api/v1/hooks"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}  # added by core.schema


def _problems(descriptions: dict[int, str]) -> dict:
    return {(status, "application/problem+json"): OpenApiResponse(PROBLEM_REF, description=text)
            for status, text in descriptions.items()}


class HookView(APIView):
    """``POST /hooks/{agent}/{secret}``: the public trigger.  No credentials
    but the secret; every error names the same instance, so neither the secret
    nor whether the agent exists shows in a response."""

    authentication_classes = []  # no session, so no CSRF either
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Start a run from a webhook (async, trigger webhook)", auth=[], request=OpenApiTypes.OBJECT,
        description="The JSON body (an object) becomes the run's input. Wrong secret, disabled webhook and "
                    "unknown agent all answer the same 404. At most AGENTRY_WEBHOOK_RATE_PER_MINUTE runs per "
                    "agent per rolling minute; past that 429 rate_limited with Retry-After.",
        parameters=[OpenApiParameter("agent", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="The agent's UUID or slug."),
                    OpenApiParameter("secret", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="The webhook secret."),
                    IDEMPOTENCY_KEY, CORRELATION_ID],
        responses={202: enveloped(QueuedRunSerializer),
                   **_problems({409: "agent_not_active, or idempotency_conflict while the first run is going.",
                                422: "idempotency_key_reused: the key came with another body.",
                                429: "rate_limited; Retry-After says when to try again.",
                                503: "The task queue is unavailable."})})
    def post(self, request, agent, secret=""):
        target = webhooks.webhook_agent(ref=agent, secret=secret)
        body = request.data
        if not isinstance(body, dict):
            raise ValidationFailed("The body must be a JSON object.", errors={"body": ["Must be a JSON object."]})
        key, correlation = run_headers(request)
        execution, created = triggers.webhook_trigger(agent=target, body=body, idempotency_key=key,
                                                      correlation_id=correlation)
        url = execution_url(request, execution)
        if created and execution.status == ExecutionStatus.FAILED:
            raise ServiceUnavailable("The task queue is unavailable; try again shortly.", headers={"Retry-After": "5"})
        headers = {"X-Correlation-ID": execution.correlation_id or correlation, "Location": url}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return data_response({"exec_id": str(execution.pk), "exec_url": url, "status": execution.status},
                             status=http.HTTP_202_ACCEPTED, headers=headers)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "instance" in response.data:
            response.data["instance"] = HOOK_INSTANCE
        return response


@extend_schema_view(post=extend_schema(exclude=True))
class HookWithoutSecretView(HookView):
    """``POST /hooks/{agent}``: no secret, so the same 404 as a wrong one."""

    def post(self, request, agent):
        return super().post(request, agent, "")
