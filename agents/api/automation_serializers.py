"""Representations for schedules and webhooks.  Input is validated by the
services (``ScheduleFieldsSerializer`` in ``agents.services.schedules``)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.cron import next_runs


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


class WebhookSerializer(serializers.Serializer):
    url = serializers.URLField(allow_null=True, help_text="POST here to start a run; null while disabled.")
    secret = serializers.CharField(allow_null=True, help_text="The secret in the URL; null while disabled.")
    enabled = serializers.BooleanField()
