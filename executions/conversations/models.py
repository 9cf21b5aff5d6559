"""Threads, their messages, and the events a thread's streams replay.

A thread is one user's conversation with an agent.  Each chat turn is an
execution (trigger ``chat``) whose user and assistant messages are stored
here; every event a turn streams gets the thread's next ``seq``, which is the
SSE id: dense and strictly increasing per thread, so a client resuming with
``Last-Event-ID`` gets exactly what it missed, and a gap is visible.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from executions.models import Usage

DEFAULT_TITLE = "New Conversation"


class MultitaskStrategy(models.TextChoices):
    """What a message sent while a turn runs does (LangGraph's double-texting)."""

    REJECT = "reject", "Reject"
    INTERRUPT = "interrupt", "Interrupt"
    ENQUEUE = "enqueue", "Enqueue"


class Thread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="threads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="threads")
    title = models.CharField(max_length=200, default=DEFAULT_TITLE)
    title_set = models.BooleanField(default=False, help_text="Given by a client; else made from the first message.")
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    multitask_strategy = models.CharField(max_length=16, choices=MultitaskStrategy.choices, blank=True, default="",
                                          help_text="Blank: the agent's session policy decides.")
    model_override = models.JSONField(null=True, blank=True, help_text="{provider, model} for this session.")
    personality = models.CharField(max_length=32, blank=True, default="",
                                   help_text="A preset set with /personality; blank: the agent's own.")
    summary = models.TextField(blank=True, default="")
    summary_through = models.DateTimeField(null=True, blank=True,
                                           help_text="The summary covers messages created up to here.")
    message_count = models.PositiveIntegerField(default=0)
    tokens_prompt = models.PositiveIntegerField(default=0)
    tokens_completion = models.PositiveIntegerField(default=0)
    total_cost_usd = models.DecimalField(max_digits=16, decimal_places=8, default=0)
    last_event_seq = models.BigIntegerField(default=0)
    active_execution = models.ForeignKey("executions.Execution", on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+", help_text="The turn running now, if any.")
    # Turns of a thread run one at a time, in the process holding this lease
    # (see ``executions.conversations.services.turns``); a lease not renewed
    # for AGENTRY_EXECUTION_STALE_SECONDS belonged to a process that died.
    driver = models.CharField(max_length=200, blank=True, default="")
    driver_seen_at = models.DateTimeField(null=True, blank=True)
    session_started_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["agent", "created_by", "updated_at", "id"], name="thread_agent_user_updated"),
            models.Index(fields=["archived", "last_activity_at"], name="thread_archived_activity"),
        ]

    def __str__(self):
        return self.title

    @property
    def total_tokens(self) -> int:
        return self.tokens_prompt + self.tokens_completion


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # a user message waiting for its turn (enqueue)
    STREAMING = "streaming", "Streaming"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class Message(Usage):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.COMPLETED)
    tool_calls = models.JSONField(default=list, blank=True,
                                  help_text="[{id, name, arguments, result}] in the order they ran.")
    citations = models.JSONField(default=list, blank=True)
    command = models.CharField(max_length=32, blank=True, default="", help_text="The slash command answered.")
    provider = models.CharField(max_length=100, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Time to the first streamed token.")
    error = models.JSONField(null=True, blank=True)
    execution = models.ForeignKey("executions.Execution", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="messages")
    token = models.ForeignKey("accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              help_text="The token a user message came with: its scopes bound what commands do.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at", "id"], name="message_thread_created_id")]

    def __str__(self):
        return f"{self.thread_id}:{self.role}"


class ThreadEvent(models.Model):
    """One event a thread's streams showed, by its ``seq`` (the SSE id)."""

    id = models.BigAutoField(primary_key=True)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    execution = models.ForeignKey("executions.Execution", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    event = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["thread", "seq"]
        constraints = [models.UniqueConstraint(fields=["thread", "seq"], name="thread_event_seq_unique")]

    def __str__(self):
        return f"{self.thread_id}@{self.seq}:{self.event}"
