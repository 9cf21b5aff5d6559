import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.roles import Role
from core.fields import JSONField


class AgentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    DISABLED = "disabled", "Disabled"


class RuntimeState(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    RUNNING = "running", "Running"


class Agent(models.Model):
    """An agent: its working config and pipeline, its owner and its runtime state.

    ``revision`` grows by one on every write; it keys the strong ETag and makes
    conditional writes a compare-and-swap.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    # The name case-folded, so sorting by name is the same on every database.
    name_key = models.CharField(max_length=100, editable=False, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default=AgentStatus.ACTIVE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_agents")
    config = JSONField(default=dict)
    pipeline = JSONField(default=dict)
    runtime_state = models.CharField(max_length=16, choices=RuntimeState.choices, default=RuntimeState.STOPPED)
    runtime_started_at = models.DateTimeField(null=True, blank=True)
    deployed_version = models.PositiveIntegerField(null=True, blank=True)
    # The webhook secret: its SHA-256 finds the agent, the ciphertext lets
    # admins read the URL again.  Empty until the first rotation.
    webhook_secret_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    webhook_secret_ciphertext = models.TextField(blank=True, default="")
    revision = models.PositiveIntegerField(default=1)
    # Indexed with the id (Meta.indexes): each is a sort key of the agents
    # list, whose pages are ordered by the key, then the id.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="agent_name_unique_per_owner"),
        ]
        # One per sort key, with the id that breaks ties, so a page is read
        # in index order and the database stops after it.  With the key alone,
        # agents that share a time (an import, a bulk change) were sorted in
        # full on every page: 90 ms at 10,000 agents against 2.5.
        indexes = [
            models.Index(fields=["name_key", "id"], name="agent_name_key_id"),
            models.Index(fields=["created_at", "id"], name="agent_created_id"),
            models.Index(fields=["updated_at", "id"], name="agent_updated_id"),
            models.Index(fields=["last_activity", "id"], name="agent_last_activity_id"),
        ]

    def __str__(self):
        return self.slug

    @property
    def tag_names(self) -> list[str]:
        """The tags' names in order: from the ``[position, name]`` pairs of
        ``agents.sql.tag_pairs`` when the agent was read with them, else read now."""
        pairs = getattr(self, TAG_PAIRS, None)
        if pairs is None:
            return list(self.tag_rows.values_list("name", flat=True))
        return [name for _position, name in sorted(pairs)]


# Where an agent read with its tags holds them (``agents.sql.tag_pairs``).
TAG_PAIRS = "tag_pairs"


class AgentTag(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=50)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["agent", "name"], name="agent_tag_unique")]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name


class AgentMember(models.Model):
    """A user's role on an agent.  The owner has a row too (exactly one per
    agent), mirrored by ``Agent.owner``, which keeps names unique per owner."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="members")
    # Indexed with the agent (Meta.indexes), which also serves lookups by user alone.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_memberships",
                             db_index=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "user"], name="agent_member_unique"),
            models.UniqueConstraint(fields=["agent"], condition=Q(role="owner"), name="agent_single_owner"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="agent_member_role_valid"),
        ]
        # A user's agents from the membership side: counting them (the agents
        # list's total) reads this index alone.
        indexes = [models.Index(fields=["user", "agent"], name="agent_member_user_agent")]

    def __str__(self):
        return f"{self.user} as {self.role} on {self.agent}"


class AgentMemberCount(models.Model):
    """How many agents a user is a member of: the agents list's total, read
    as one row.  Counting the member rows instead reads one index entry per
    agent (0.6 ms of a list request at 10,000 agents).

    Triggers on ``agents_agentmember`` keep it (migration 0006), so every
    write counts, whatever makes it: the services, a cascade, a bulk
    statement.  Nothing in Python writes it.  A user without a row is a
    member of nothing."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="+")
    agents = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.user} is a member of {self.agents} agents"


class AuditAction(models.TextChoices):
    AGENT_CREATED = "agent.created"
    AGENT_UPDATED = "agent.updated"
    AGENT_REPLACED = "agent.replaced"
    AGENT_DELETED = "agent.deleted"
    AGENT_DUPLICATED = "agent.duplicated"
    AGENT_STATUS_CHANGED = "agent.status_changed"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    OWNERSHIP_TRANSFERRED = "agent.ownership_transferred"
    AGENT_IMPORTED = "agent.imported"
    AGENT_EXPORTED = "agent.exported"
    MODEL_CHANGED = "agent.model_changed"
    SETTINGS_CHANGED = "agent.settings_changed"
    VERSION_SAVED = "version.saved"
    VERSION_ROLLED_BACK = "version.rolled_back"
    RUNTIME_STARTED = "runtime.started"
    RUNTIME_STOPPED = "runtime.stopped"
    RUNTIME_REDEPLOYED = "runtime.redeployed"
    SCHEDULE_CREATED = "schedule.created"
    SCHEDULE_UPDATED = "schedule.updated"
    SCHEDULE_DELETED = "schedule.deleted"
    WEBHOOK_ROTATED = "webhook.rotated"
    MEMORY_CREATED = "memory.created"
    MEMORY_DELETED = "memory.deleted"
    SKILL_ATTACHED = "skill.attached"
    SKILL_UPDATED = "skill.association_updated"
    SKILL_DETACHED = "skill.detached"
    ARTIFACT_CREATED = "artifact.created"
    ARTIFACT_DELETED = "artifact.deleted"


class AuditLogEntry(models.Model):
    """Who changed what on an agent, when and from where.  Entries outlive
    their agent (``agent`` becomes null, ``agent_ref`` keeps the id)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries")
    agent_ref = models.UUIDField(db_index=True)
    agent_slug = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_email = models.CharField(max_length=254, blank=True, default="")
    token = models.ForeignKey("accounts.ApiToken", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    token_name = models.CharField(max_length=100, blank=True, default="")
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit log entries"
        indexes = [models.Index(fields=["agent_ref", "-created_at", "-id"])]

    def __str__(self):
        return f"{self.action} on {self.agent_slug} by {self.actor_email or 'system'}"


class AgentVersion(models.Model):
    """An immutable snapshot of an agent's config and pipeline.

    ``config`` is the stored form (secret env values stay encrypted), so a
    rollback restores secrets too.  ``content_hash`` is the SHA-256 of the
    canonical JSON of config and pipeline: equal hashes, equal definitions.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    index = models.PositiveIntegerField()
    config = JSONField()
    pipeline = JSONField()
    changelog = models.CharField(max_length=1000, blank=True, default="")
    content_hash = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-index"]
        constraints = [models.UniqueConstraint(fields=["agent", "index"], name="agent_version_index_unique")]

    def __str__(self):
        return f"{self.agent_id} v{self.index}"


class Schedule(models.Model):
    """A cron schedule that runs the agent with a fixed input.

    Beat fires it through ``periodic_task`` (django-celery-beat), which the
    schedules service keeps in step: enabled only while the schedule is
    enabled and the agent is active and running.  ``primary`` marks the one
    ``/agents/{agent}/schedule`` manages (at most one per agent).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)
    cron = models.CharField(max_length=100)
    input = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    primary = models.BooleanField(default=False)
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="agent_schedule")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Last: the field's name shadows the ``timezone`` module in the class body.
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone the cron is read in.")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "name"], name="schedule_name_unique_per_agent"),
            models.UniqueConstraint(fields=["agent"], condition=Q(primary=True), name="schedule_single_primary"),
        ]
        indexes = [models.Index(fields=["agent", "created_at", "id"], name="schedule_agent_created_id")]

    def __str__(self):
        return f"{self.agent_id}:{self.name}"


class Skill(models.Model):
    """A reusable piece of know-how (instructions, a procedure) in the skill library."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    content = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list)
    source = models.CharField(max_length=200, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="skill_name_unique_per_owner")]

    def __str__(self):
        return self.name


class AgentSkill(models.Model):
    """A skill connected to an agent."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="skill_links")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agent_links")
    editable = models.BooleanField(default=True)
    auto_connected = models.BooleanField(default=False)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    connected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["connected_at", "id"]
        constraints = [models.UniqueConstraint(fields=["agent", "skill"], name="agent_skill_unique")]

    def __str__(self):
        return f"{self.agent_id}:{self.skill_id}"


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI-compatible"
    ANTHROPIC = "anthropic", "Anthropic"
    ECHO = "echo", "Echo (offline)"


class Provider(models.Model):
    """Credentials for one LLM endpoint, shared by the whole installation.

    ``models`` is a list of ``{"name", "input_per_million",
    "output_per_million"}``: prices in USD per million tokens, which turn
    provider-reported usage into cost.  The API key is stored encrypted
    (``core.crypto``) and never leaves the server.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    base_url = models.CharField(max_length=500, blank=True, default="")
    api_key_ciphertext = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Last: the field's name shadows the ``models`` module in the class body.
    models = models.JSONField(default=list)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # 'OpenAI' and 'openai' side by side would make agent configs ambiguous to read.
            models.UniqueConstraint(Lower("name"), name="provider_name_ci_unique"),
        ]
        indexes = [models.Index(fields=["created_at", "id"], name="provider_created_id")]
        db_table = "executions_provider"  # created by the executions app, before providers moved here

    def __str__(self):
        return self.name

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_ciphertext)


class MemoryKind(models.TextChoices):
    CONVERSATION = "conversation", "Conversation"
    EPISODIC = "episodic", "Episodic"
    SEMANTIC = "semantic", "Semantic"
    RULE = "rule", "Rule"


class Memory(models.Model):
    """Something the agent remembers: a fact, an episode, or a rule it must
    follow (``metadata`` carries a rule's category and severity)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="memories")
    kind = models.CharField(max_length=16, choices=MemoryKind.choices, default=MemoryKind.SEMANTIC)
    content = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "memories"
        db_table = "executions_memory"  # created by the executions app, before memories moved here
        indexes = [models.Index(fields=["agent", "created_at", "id"], name="memory_agent_created_id")]

    def __str__(self):
        return f"{self.agent_id}:{self.kind}"
