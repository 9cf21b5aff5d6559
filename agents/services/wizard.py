"""One-shot agent creation from the Agent Builder wizard (seed 004).

The whole body is validated first; then, in one transaction, the agent is
created through :func:`agent_create` (so the name and slug rules and the 409
``name_taken`` are those of ``POST /agents`` and check-name) and its library
is seeded: memories, rules (memories of kind ``rule``), skills from the
caller's library and scheduled tasks.  Any problem is a 400 naming the
body's path (``training.tasks[0].cron``) and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.actor import Actor
from agents.config import (
    MEMORY_TYPES,
    TOOL_TYPES,
    ContextPolicySerializer,
    ModelRefSerializer,
    ModelSerializer,
    SessionPolicySerializer,
    StrictSerializer,
    validate_provider,
)
from agents.models import Agent, Memory, MemoryKind
from agents.services.agents import agent_create
from agents.services.brain import model_ref_errors, models_errors
from agents.services.schedules import ScheduleFieldsSerializer, schedule_create
from agents.services.skills import skills_connect
from agents.validation import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX, TAG_MAX, TAGS_MAX, name_problem
from core.errors import ValidationFailed, flatten_errors
from core.naming import first_free
from executions.engine.nodes import CONNECTOR_ALIASES

TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")  # tool ids become function names, which allow only these
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

class AgentNameField(serializers.CharField):
    """The agent's name, checked by the rule ``POST /agents`` and check-name use."""

    def __init__(self, **kwargs):
        super().__init__(max_length=NAME_MAX, trim_whitespace=False, **kwargs)

    def run_validation(self, data=empty):
        problem = name_problem(None if data is empty else data)
        if problem:
            raise serializers.ValidationError(problem)
        return data


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
        schedule = ScheduleFieldsSerializer(data=_schedule_data(attrs, attrs.get("name")))
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


# --- the service --------------------------------------------------------------------------------

@dataclass(frozen=True)
class WizardResult:
    agent: Agent
    seed_counts: dict[str, int]


def wizard_validate(data) -> dict:
    """The wizard body checked whole (shape, models against the providers); 400 with every problem."""
    serializer = WizardSerializer(data=data)
    if not serializer.is_valid():
        raise ValidationFailed.from_errors(flatten_errors(serializer.errors))
    clean = dict(serializer.validated_data)
    errors: dict[str, list[str]] = {}
    if "ai_model_id" in clean:
        ref = clean["ai_model_id"]
        errors.update(model_ref_errors(ref["provider"], ref["model"], provider_path="ai_model_id",
                                       model_path="ai_model_id"))
    for i, ref in enumerate(clean.get("fallback_model_ids", [])):
        path = f"fallback_model_ids[{i}]"
        errors.update(model_ref_errors(ref["provider"], ref["model"], provider_path=path, model_path=path))
    errors.update(models_errors(model=clean.get("model"), fallback_models=clean.get("fallback_models")))
    if errors:
        raise ValidationFailed.from_errors(errors)
    return clean


def _tools(connectors: list[dict]) -> list[dict]:
    tools, taken = [], set()
    for connector in connectors:
        tool_type = connector_tool_type(connector["node_type"])
        base = TOOL_ID_UNSAFE.sub("-", connector["tile_id"]).strip("-_")[:60] or tool_type
        tool_id, n = base, 2
        while tool_id in taken:
            tool_id = f"{base}-{n}"
            n += 1
        taken.add(tool_id)
        tools.append({"id": tool_id, "type": tool_type, "description": connector["label"],
                      "config": connector["config"]})
    return tools


def wizard_config(clean: dict) -> dict:
    """The agent config the wizard's answers describe; the rest keeps its defaults."""
    config = {key: clean[key] for key in ("personality", "operating_prompt_id", "model", "fallback_models",
                                          "context_policy", "session_policy") if key in clean}
    if "ai_model_id" in clean:
        config["model"] = clean["ai_model_id"]
    if "fallback_model_ids" in clean:
        config["fallback_models"] = clean["fallback_model_ids"]
    config["tools"] = _tools(clean["connectors"])
    seeded_types = {m["type"] for m in (clean.get("training") or {}).get("memory", [])}
    if seeded_types:  # the agent should read the kinds of memory it is given
        config["memory"] = {"enabled": True, "types": [t for t in MEMORY_TYPES
                                                       if t == "conversation" or t in seeded_types]}
    return config


def _seed_memories(agent: Agent, actor: Actor, memories: list[dict], rules: list[dict]) -> None:
    user = _user(actor)
    rows = [Memory(agent=agent, kind=m["type"], content=m["content"], created_by=user) for m in memories]
    rows += [Memory(agent=agent, kind=MemoryKind.RULE, content=r["content"] or r["description"], created_by=user,
                    metadata={"description": r["description"], "category": r["category"],
                              "severity": r["severity"]})
             for r in rules]
    Memory.objects.bulk_create(rows)


def _task_names(tasks: list[dict]) -> list[str]:
    """Each task's schedule name: its own, else ``cron <expression>`` made
    unique among all of them, so a derived name never takes a given one."""
    taken = {task["name"] for task in tasks if "name" in task}
    names = []
    for task in tasks:
        name = task.get("name")
        if name is None:
            name = first_free(f"cron {' '.join(task['cron'].split())}", taken)
            taken.add(name)
        names.append(name)
    return names


def _schedule_data(task: dict, name: str | None) -> dict:
    data = {"cron": task["cron"], "timezone": task["timezone"], "input": {"message": task["prompt"]}}
    if name is not None:
        data["name"] = name
    return data


def _seed_tasks(agent: Agent, actor: Actor, tasks: list[dict]) -> None:
    for task, name in zip(tasks, _task_names(tasks)):
        schedule_create(agent=agent, actor=actor, data=_schedule_data(task, name))


@transaction.atomic
def agent_create_from_wizard(*, actor: Actor, data) -> WizardResult:
    """Create an agent the actor owns from the wizard's answers and seed its
    memory, rules, skills and tasks, all or nothing."""
    clean = wizard_validate(data)
    agent = agent_create(actor=actor, name=clean["name"], slug=clean.get("slug"), description=clean["description"],
                         tags=clean["tags"], config=wizard_config(clean))
    training = clean.get("training") or {"memory": [], "rules": [], "skills": [], "tasks": []}
    _seed_memories(agent, actor, training["memory"], training["rules"])
    skills_connect(agent, training["skills"], actor=actor, source="wizard", auto_connected=True)
    _seed_tasks(agent, actor, training["tasks"])
    return WizardResult(agent=agent, seed_counts={key: len(training[key]) for key in SEEDS_MAX})


def _user(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None
