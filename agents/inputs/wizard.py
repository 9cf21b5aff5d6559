"""The body of ``POST /agents/create-from-wizard`` (seed 004's Agent Builder).

Every key but ``name`` is optional.  Models are checked against the
configured providers by the wizard service, after the shape is valid.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.config import (
    MEMORY_TYPES,
    TOOL_TYPES,
    ContextPolicySerializer,
    ModelRefSerializer,
    ModelSerializer,
    SessionPolicySerializer,
    validate_provider,
)
from agents.inputs.agents import AgentNameField
from agents.inputs.schedules import ScheduleFieldsSerializer
from agents.validation import DESCRIPTION_MAX, SLUG_MAX, TAG_MAX, TAGS_MAX
from core.validation import StrictSerializer
from executions.engine.nodes import CONNECTOR_ALIASES

SEEDS_MAX = {"memory": 500, "rules": 200, "skills": 100, "tasks": 50}


def connector_tool_type(node_type: str) -> str | None:
    """The tool type a connector's ``node_type`` stands for, or ``None``: an
    alias the tool's node class declares, or a tool type itself, with hyphens
    or underscores."""
    key = node_type.strip().lower()
    if key in CONNECTOR_ALIASES:
        return CONNECTOR_ALIASES[key]
    key = key.replace("-", "_")
    return key if key in TOOL_TYPES else None


def parse_model_id(value: str) -> dict:
    """A seed-style ``"provider/model"`` id as a model reference (provider names contain no ``/``)."""
    provider, sep, model = value.partition("/")
    if not sep or not provider or not model:
        raise serializers.ValidationError('Use the form "provider/model", e.g. "openai/gpt-4o-mini".')
    validate_provider(provider)
    return {"provider": provider, "model": model}


# --- input --------------------------------------------------------------------------------------

class WizardConnectorSerializer(StrictSerializer):
    """A wizard tile that becomes one of ``config.tools``."""

    tile_id = serializers.CharField(max_length=100, allow_blank=True, default="",
                                    help_text="Becomes the tool's id (made unique).")
    node_type = serializers.CharField(max_length=100, help_text=(
        f"A tool type ({', '.join(TOOL_TYPES)}) or an alias: "
        + ", ".join(f"{alias} → {tool}" for alias, tool in CONNECTOR_ALIASES.items()) + "."))
    label = serializers.CharField(max_length=1000, allow_blank=True, default="",
                                  help_text="Becomes the tool's description.")
    category = serializers.CharField(max_length=100, allow_blank=True, default="")
    config = serializers.DictField(default=dict, help_text="The tool's config.")

    def validate_node_type(self, value):
        if connector_tool_type(value) is None:
            raise serializers.ValidationError(
                f"Unknown connector type {value!r}; use one of {', '.join(TOOL_TYPES)} "
                f"or an alias ({', '.join(CONNECTOR_ALIASES)}).")
        return value


@extend_schema_field({"type": "string", "enum": list(MEMORY_TYPES)}, component_name="WizardMemoryTypeEnum")
class _MemoryTypeField(serializers.ChoiceField):
    """A memory kind; its own schema component, apart from the other fields named ``type``."""


class WizardMemorySerializer(StrictSerializer):
    """A memory to seed (kind ``semantic`` unless ``type`` says otherwise)."""

    content = serializers.CharField(max_length=20_000)
    type = _MemoryTypeField(choices=MEMORY_TYPES, default="semantic")


class WizardRuleSerializer(StrictSerializer):
    """A rule the agent must follow, stored as a memory of kind ``rule``."""

    description = serializers.CharField(max_length=DESCRIPTION_MAX, allow_blank=True, default="")
    content = serializers.CharField(max_length=20_000, allow_blank=True, default="",
                                    help_text="The rule's text; the description when empty.")
    category = serializers.CharField(max_length=50, allow_blank=True, default="", help_text='e.g. "must".')
    severity = serializers.CharField(max_length=20, allow_blank=True, default="", help_text='e.g. "high".')

    def validate(self, attrs):
        if not attrs["content"].strip() and not attrs["description"].strip():
            raise serializers.ValidationError({"content": ["A rule needs a content or a description."]})
        return attrs


class WizardSkillSerializer(StrictSerializer):
    """A skill to add to the caller's library and connect to the agent."""

    name = serializers.CharField(max_length=90, help_text="A number is appended when your library has it.")
    description = serializers.CharField(max_length=DESCRIPTION_MAX, allow_blank=True, default="")
    content = serializers.CharField(max_length=100_000, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX), max_length=TAGS_MAX, default=list)


class WizardTaskSerializer(StrictSerializer):
    """A scheduled task: the agent runs ``prompt`` on ``cron``."""

    cron = serializers.CharField(max_length=100, help_text="Five fields: minute hour day-of-month month day-of-week.")
    prompt = serializers.CharField(max_length=20_000, help_text="Sent as the run's input.message.")
    timezone = serializers.CharField(max_length=64, default="UTC", help_text="IANA time zone the cron is read in.")
    name = serializers.CharField(max_length=100, required=False, help_text="Derived from the cron when absent.")

    def validate(self, attrs):
        # The schedules service's own rules, checked before anything is written.
        schedule = ScheduleFieldsSerializer(data=schedule_data(attrs, attrs.get("name")))
        if not schedule.is_valid():
            raise serializers.ValidationError({"prompt" if key == "input" else key: messages
                                               for key, messages in schedule.errors.items()})
        return attrs


class WizardTrainingSerializer(StrictSerializer):
    """What the new agent starts out knowing and doing."""

    memory = WizardMemorySerializer(many=True, default=list, max_length=SEEDS_MAX["memory"])
    rules = WizardRuleSerializer(many=True, default=list, max_length=SEEDS_MAX["rules"])
    skills = WizardSkillSerializer(many=True, default=list, max_length=SEEDS_MAX["skills"])
    tasks = WizardTaskSerializer(many=True, default=list, max_length=SEEDS_MAX["tasks"])

    def validate(self, attrs):
        seen, errors = set(), {}
        for i, task in enumerate(attrs["tasks"]):
            if "name" in task and task["name"] in seen:
                errors[i] = {"name": ["Another task has this name."]}
            seen.add(task.get("name"))
        if errors:
            raise serializers.ValidationError({"tasks": errors})
        return attrs


class WizardSerializer(StrictSerializer):
    """The wizard's body; every key but ``name`` is optional."""

    name = AgentNameField(help_text="Same rules as POST /agents: 1–100 characters, unique among your agents.")
    slug = serializers.CharField(max_length=SLUG_MAX, required=False, help_text="Derived from name when absent.")
    description = serializers.CharField(max_length=DESCRIPTION_MAX, allow_blank=True, default="",
                                        trim_whitespace=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX), max_length=TAGS_MAX, default=list)
    personality = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    operating_prompt_id = serializers.CharField(max_length=100, allow_null=True, required=False)
    model = ModelSerializer(required=False)
    fallback_models = ModelRefSerializer(many=True, required=False, max_length=10)
    ai_model_id = serializers.CharField(max_length=300, required=False,
                                        help_text='Seed style for model: "provider/model".')
    fallback_model_ids = serializers.ListField(child=serializers.CharField(max_length=300), max_length=10,
                                               required=False,
                                               help_text='Seed style for fallback_models: ["provider/model"].')
    context_policy = ContextPolicySerializer(required=False)
    session_policy = SessionPolicySerializer(required=False)
    connectors = WizardConnectorSerializer(many=True, default=list, max_length=50,
                                           help_text="Each becomes one of config.tools.")
    training = WizardTrainingSerializer(required=False)

    def validate_ai_model_id(self, value):
        return parse_model_id(value)

    def validate_fallback_model_ids(self, value):
        refs, errors = [], {}
        for i, item in enumerate(value):
            try:
                refs.append(parse_model_id(item))
            except serializers.ValidationError as exc:
                errors[i] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return refs

    def validate(self, attrs):
        for a, b in (("model", "ai_model_id"), ("fallback_models", "fallback_model_ids")):
            if a in attrs and b in attrs:
                raise serializers.ValidationError({b: [f"Send {a} or {b}, not both."]})
        return attrs


def schedule_data(task: dict, name: str | None) -> dict:
    """A wizard task as the schedules service takes it."""
    data = {"cron": task["cron"], "timezone": task["timezone"], "input": {"message": task["prompt"]}}
    if name is not None:
        data["name"] = name
    return data
