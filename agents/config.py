"""The agent ``config`` document: defaults, validation and secret handling.

``normalize_config`` turns what a client sent into the stored form (every key
present, defaults filled, secret env values encrypted); ``public_config``
turns the stored form back into what the API shows (secrets masked).
"""

from __future__ import annotations

import re
import zoneinfo

from celery.schedules import crontab
from rest_framework import serializers
from rest_framework.fields import empty

from agents.providers import known_providers, provider_is_known
from core import crypto
from core.errors import ValidationFailed
from core.validation import StrictSerializer, validated
from executions.engine.inputs import json_schema_problem
from executions.engine.nodes import TOOL_TYPES

MCP_TRANSPORTS = ("stdio", "streamable-http")
MEMORY_TYPES = ("conversation", "episodic", "semantic")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def validate_cron(expression: str) -> str:
    """A five-field cron expression, parsed by the same code beat uses."""
    fields = expression.split()
    if len(fields) != 5:
        raise serializers.ValidationError("Must have five fields: minute hour day-of-month month day-of-week.")
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                month_of_year=month, day_of_week=day_of_week)
    except Exception as exc:  # celery raises ValueError or its own ParseException
        raise serializers.ValidationError(f"Not a valid cron expression: {exc}")
    return " ".join(fields)


def validate_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise serializers.ValidationError(f"Unknown IANA time zone {name!r}.")
    return name


def validate_json_schema(value):
    problem = json_schema_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


def validate_provider(value: str) -> str:
    if not provider_is_known(value):
        raise serializers.ValidationError(
            f"Unknown provider {value!r}; known providers: {', '.join(known_providers())}.")
    return value


class FilledSerializer(StrictSerializer):
    """DRF hands back a nested serializer's default as-is, unvalidated; this
    runs absent nested objects through their serializer so every stored key
    carries its default."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = dict(data)
            for name, field in self.fields.items():
                if isinstance(field, serializers.Serializer) and name not in data:
                    default = field.default
                    data[name] = {} if default is empty else (default() if callable(default) else default)
        return super().to_internal_value(data)


class ModelParamsSerializer(StrictSerializer):
    temperature = serializers.FloatField(min_value=0, max_value=2, default=0.7)
    max_tokens = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1024)
    top_p = serializers.FloatField(min_value=0, max_value=1, default=1.0)
    stop = serializers.ListField(child=serializers.CharField(max_length=100), max_length=4, default=list)
    seed = serializers.IntegerField(allow_null=True, default=None)


class ModelRefSerializer(StrictSerializer):
    provider = serializers.CharField(max_length=100, validators=[validate_provider])
    model = serializers.CharField(max_length=200)


class ModelSerializer(FilledSerializer, ModelRefSerializer):
    params = ModelParamsSerializer(default=dict)


class ToolSerializer(StrictSerializer):
    id = serializers.RegexField(IDENT, error_messages={"invalid": "Letters, digits, _ . - (at most 64)."})
    type = serializers.ChoiceField(choices=TOOL_TYPES)
    description = serializers.CharField(max_length=1000, allow_blank=True, default="")
    config = serializers.DictField(default=dict)


class McpSerializer(StrictSerializer):
    id = serializers.RegexField(IDENT, error_messages={"invalid": "Letters, digits, _ . - (at most 64)."})
    transport = serializers.ChoiceField(choices=MCP_TRANSPORTS)
    command = serializers.CharField(max_length=500, allow_blank=True, default="")
    args = serializers.ListField(child=serializers.CharField(max_length=500), default=list)
    url = serializers.URLField(allow_blank=True, default="")
    env = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)
    headers = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)

    def validate(self, attrs):
        if attrs["transport"] == "stdio" and not attrs["command"]:
            raise serializers.ValidationError({"command": ["Required for the stdio transport."]})
        if attrs["transport"] == "streamable-http" and not attrs["url"]:
            raise serializers.ValidationError({"url": ["Required for the streamable-http transport."]})
        return attrs


class ActionSerializer(StrictSerializer):
    id = serializers.RegexField(IDENT, error_messages={"invalid": "Letters, digits, _ . - (at most 64)."})
    prompt = serializers.CharField(max_length=20_000)
    input = serializers.JSONField(default=dict, validators=[validate_json_schema])
    output = serializers.JSONField(default=dict, validators=[validate_json_schema])


class MemorySerializer(StrictSerializer):
    enabled = serializers.BooleanField(default=True)
    types = serializers.ListField(child=serializers.ChoiceField(choices=MEMORY_TYPES),
                                  default=lambda: ["conversation"])


class ContextPolicySerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=("window", "summarise"), default="window")
    token_budget = serializers.IntegerField(min_value=256, max_value=2_000_000, default=8000)
    keep_recent = serializers.IntegerField(min_value=1, max_value=1000, default=12)


class SessionPolicySerializer(StrictSerializer):
    idle_timeout_seconds = serializers.IntegerField(min_value=60, max_value=30 * 86400, default=1800)
    max_session_duration_seconds = serializers.IntegerField(min_value=60, max_value=365 * 86400, default=14400)
    max_concurrent_sessions_per_user = serializers.IntegerField(min_value=1, max_value=1000, default=3)
    auto_archive_after_days = serializers.IntegerField(min_value=1, max_value=3650, default=30)
    allow_per_session_model_override = serializers.BooleanField(default=False)
    multitask_strategy = serializers.ChoiceField(choices=("reject", "interrupt", "enqueue"), default="enqueue",
                                                 help_text="What a message sent while a turn runs does.")


class HeartbeatSerializer(StrictSerializer):
    enabled = serializers.BooleanField(default=False)
    cron = serializers.CharField(max_length=100, default="0 9 * * *", validators=[validate_cron])
    timezone = serializers.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    prompt = serializers.CharField(max_length=20_000, allow_blank=True, default="")


class KnowledgeSerializer(FilledSerializer):
    """How the agent's knowledge base is indexed and searched."""

    embedding = ModelRefSerializer(allow_null=True, default=None, help_text=(
        "An embedding model of an OpenAI-compatible provider, for vector search beside full text; "
        "null: the installation's (AGENTRY_KNOWLEDGE_EMBEDDING), if any."))
    chunk_size = serializers.IntegerField(min_value=200, max_value=8000, default=1000,
                                          help_text="Characters per chunk, at most.")
    chunk_overlap = serializers.IntegerField(min_value=0, max_value=4000, default=150,
                                             help_text="Characters a chunk repeats from the one before.")
    top_k = serializers.IntegerField(min_value=1, max_value=50, default=5,
                                     help_text="Passages a search returns when it does not say.")

    def validate(self, attrs):
        if attrs["chunk_overlap"] > attrs["chunk_size"] // 2:
            raise serializers.ValidationError({"chunk_overlap": ["At most half of chunk_size."]})
        return attrs


class AgentConfigSerializer(FilledSerializer):
    """The shape of ``config`` (API.md §3); also its OpenAPI description."""

    instructions = serializers.CharField(max_length=100_000, allow_blank=True, default="")
    personality = serializers.CharField(max_length=10_000, allow_blank=True, default="")
    operating_prompt_id = serializers.CharField(max_length=100, allow_null=True, default=None)
    model = ModelSerializer(default=lambda: {"provider": "echo", "model": "echo"})
    fallback_models = ModelRefSerializer(many=True, default=list)
    max_iterations = serializers.IntegerField(min_value=1, max_value=100, default=10)
    tools = ToolSerializer(many=True, default=list)
    mcps = McpSerializer(many=True, default=list)
    actions = ActionSerializer(many=True, default=list)
    memory = MemorySerializer(default=dict)
    context_policy = ContextPolicySerializer(default=dict)
    session_policy = SessionPolicySerializer(default=dict)
    heartbeat = HeartbeatSerializer(default=dict)
    knowledge = KnowledgeSerializer(default=dict)
    env = serializers.DictField(default=dict, help_text=(
        'Variables for templates. A value is a string, or {"value": "...", "secret": true} for a secret, '
        'which is encrypted at rest and shown as {"secret": true}; send {"secret": true} to keep it.'))

    def validate(self, attrs):
        for key in ("tools", "mcps", "actions"):
            ids = [item["id"] for item in attrs[key]]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise serializers.ValidationError({key: [f"Duplicate id: {', '.join(dupes)}."]})
        return attrs


def normalize_env(raw, previous: dict | None, path: str = "config.env") -> dict:
    previous = previous or {}
    if not isinstance(raw, dict):
        raise ValidationFailed("config.env must be an object.", errors={path: ["Must be an object."]})
    stored, errors = {}, {}
    for key, value in raw.items():
        here = f"{path}.{key}"
        if not ENV_KEY.match(str(key)):
            errors[here] = ["Names are letters, digits and _ and cannot start with a digit."]
        elif isinstance(value, str):
            stored[key] = {"value": str(value), "secret": False}
        elif isinstance(value, dict) and value.get("secret") is True:
            if "value" in value:
                if not isinstance(value["value"], str):
                    errors[here] = ["A secret's value must be a string."]
                else:
                    stored[key] = {"secret": True, "ciphertext": crypto.encrypt(value["value"])}
            elif previous.get(key, {}).get("secret"):
                stored[key] = previous[key]
            else:
                errors[here] = ['A new secret needs a "value".']
        elif isinstance(value, dict) and value.get("secret") in (False, None) and isinstance(value.get("value"), str):
            stored[key] = {"value": value["value"], "secret": False}
        else:
            errors[here] = ['Must be a string or {"value": "...", "secret": true}.']
    if errors:
        raise ValidationFailed.from_errors(errors)
    return stored


def normalize_config(raw, *, previous: dict | None = None) -> dict:
    """Validate ``raw`` and return the complete stored config.

    ``previous`` is the agent's current stored config; secrets sent back as
    ``{"secret": true}`` keep their stored value.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed("config must be an object.", errors={"config": ["Must be an object."]})
    env = raw.get("env", {})
    clean = validated(AgentConfigSerializer(data={k: v for k, v in raw.items() if k != "env"}), prefix="config")
    config = _to_plain(clean)
    config["env"] = normalize_env(env, (previous or {}).get("env"))
    return config


def _to_plain(value):
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    return value


def public_config(stored: dict) -> dict:
    """The config as the API shows it: secrets masked, env values flattened."""
    config = dict(stored)
    env = {}
    for key, item in (stored.get("env") or {}).items():
        env[key] = {"secret": True} if item.get("secret") else item.get("value", "")
    config["env"] = env
    return config


def default_config() -> dict:
    return normalize_config({})
