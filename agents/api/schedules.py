"""Cron schedules: ``/agents/{agent}/schedules``, ``/agents/{agent}/schedules/{id}``
and the primary schedule ``/agents/{agent}/schedule`` (API.md §3).  Input is
validated by the services (``ScheduleFieldsSerializer`` in
``agents.services.schedules``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.response import Response

from accounts.roles import Role
from agents import selectors
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, agent_rule
from agents.cron import next_runs
from agents.inputs.schedules import ScheduleFieldsSerializer
from agents.models import Schedule
from agents.services import schedules
from core.envelope import data_response, enveloped

SCHEDULE_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Schedule id.")
SCHEDULE_FIELDS = ScheduleFieldsSerializer
READ, WRITE = agent_rule(Role.VIEWER), agent_rule(Role.ADMIN)


class ScheduleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    cron = serializers.CharField()
    timezone = serializers.CharField(help_text="IANA time zone the cron is read in.")
    input = serializers.JSONField(help_text="The run's input.")
    enabled = serializers.BooleanField()
    primary = serializers.BooleanField(help_text="Whether this is the schedule /agents/{agent}/schedule manages.")
    next_runs = serializers.SerializerMethodField(
        help_text="The next five times the cron matches, in UTC; empty while the schedule is disabled. "
                  "Runs happen only while the agent is active and running.")
    last_run_at = serializers.DateTimeField(allow_null=True, help_text="When it last started a run.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.DateTimeField()))
    def get_next_runs(self, schedule) -> list[str]:
        if not schedule.enabled:
            return []
        field = serializers.DateTimeField()
        return [field.to_representation(moment) for moment in next_runs(schedule.cron, schedule.timezone)]


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
