"""A schedule's writable fields (``/agents/{agent}/schedules``, ``/schedule``, the wizard's tasks, imports)."""

from rest_framework import serializers

from agents.config import validate_cron, validate_timezone
from core.validation import StrictSerializer


class ScheduleFieldsSerializer(StrictSerializer):
    """The writable fields of a schedule; also their OpenAPI description."""

    name = serializers.CharField(max_length=100, required=False,
                                 help_text="Unique per agent; derived from the cron when absent.")
    cron = serializers.CharField(max_length=100, validators=[validate_cron],
                                 help_text="Five fields: minute hour day-of-month month day-of-week, read as "
                                           "Celery does (day-of-month and day-of-week must both match).")
    timezone = serializers.CharField(max_length=64, default="UTC", validators=[validate_timezone],
                                     help_text="IANA time zone the cron is read in.")
    input = serializers.DictField(default=dict, help_text="The run's input, as for invoke; checked against the "
                                                          "deployed pipeline's input schema when it fires.")
    enabled = serializers.BooleanField(default=True)
