"""Executions, their steps (the trace) and their events (the stream a client
follows, resumable by id)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


FINISHED_STATUSES = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED,
                     ExecutionStatus.CANCELLED, ExecutionStatus.TIMED_OUT)


class Trigger(models.TextChoices):
    MANUAL = "manual", "Manual (web)"
    API = "api", "API"
    WEBHOOK = "webhook", "Webhook"
    SCHEDULE = "schedule", "Schedule"
    HEARTBEAT = "heartbeat", "Heartbeat"
    CHAT = "chat", "Chat"
    KNOWLEDGE = "knowledge", "Knowledge ingestion"


class Usage(models.Model):
    """Tokens the provider reported and what they cost, for a step or a whole run."""

    tokens_prompt = models.PositiveIntegerField(default=0)
    tokens_completion = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=16, decimal_places=8, default=0)

    class Meta:
        abstract = True

    @property
    def tokens_used(self) -> int:
        return self.tokens_prompt + self.tokens_completion


class Execution(Usage):
    """One run of an agent's pipeline.

    ``heartbeat_at`` is refreshed by whichever process runs it; a running
    execution whose heartbeat goes stale belonged to a process that died, and
    the reaper (``executions.tasks.reap_stale_executions``) fails it.
    ``enqueued_at`` is when a queued execution was last handed to the
    broker; one still queued long after that lost its message (a worker
    killed between taking it and claiming it), and the reaper sends it again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="executions")
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.API)
    version = models.PositiveIntegerField(null=True, blank=True, help_text="Version index run; null = draft.")
    input = models.JSONField(default=dict)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    options = models.JSONField(default=dict)
    timeout_ms = models.PositiveIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    token = models.ForeignKey("accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    correlation_id = models.CharField(max_length=200, blank=True, default="")
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    citations = models.JSONField(default=list, blank=True,
                                 help_text="Knowledge passages the run used: [{document_id, filename, page, chunk}].")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "requested_by", "idempotency_key"],
                                    condition=~Q(idempotency_key=""), name="execution_idempotency_key_unique"),
        ]
        indexes = [
            models.Index(fields=["agent", "created_at", "id"], name="execution_agent_created_id"),
            # The reaper's: live executions only (a handful, whatever the history).  A
            # (status, heartbeat_at) index over every row also served status IN
            # (finished...) and status = 'succeeded', and SQLite, which keeps no
            # statistics, took it there: every finished run of every agent read
            # for a user who sees three agents (docs/PERFORMANCE.md).
            models.Index(fields=["heartbeat_at"], condition=Q(status=ExecutionStatus.RUNNING),
                         name="execution_running_heartbeat"),
            models.Index(fields=["enqueued_at"], condition=Q(status=ExecutionStatus.QUEUED),
                         name="execution_queued_enqueued"),
        ]

    def __str__(self):
        return f"{self.agent_id}:{self.id}"


class StepStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class ExecutionStep(Usage):
    """One node's run inside an execution: a line of the trace.

    ``attempts`` lists every provider call the node made (retries and
    fallbacks included) with its outcome.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveIntegerField()
    node_id = models.CharField(max_length=100)
    node_type = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.RUNNING)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    attempts = models.JSONField(default=list)
    provider = models.CharField(max_length=100, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["execution", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "sequence"], name="step_sequence_unique"),
        ]

    def __str__(self):
        return f"{self.execution_id}#{self.sequence}:{self.node_id}"


class ExecutionEvent(models.Model):
    """Something that happened during an execution, in order.

    The auto-increment id is the SSE event id: it only grows, so a client
    that reconnects with ``Last-Event-ID`` gets exactly what it missed.
    """

    id = models.BigAutoField(primary_key=True)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["execution", "id"], name="event_execution_id")]

    def __str__(self):
        return f"{self.execution_id}@{self.id}:{self.kind}"


class Artifact(models.Model):
    """Something an agent made to keep: a report, a document, a data file
    (seed 004).  ``thread`` is the conversation it came from, if any."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="artifacts")
    thread = models.ForeignKey("conversations.Thread", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="artifacts")
    execution = models.ForeignKey(Execution, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    skill = models.ForeignKey("agents.Skill", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    artifact_type = models.CharField(max_length=64, default="html_report")
    content = models.TextField()
    summary = models.CharField(max_length=1000, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agent", "created_at", "id"], name="artifact_agent_created_id")]

    def __str__(self):
        return self.title
