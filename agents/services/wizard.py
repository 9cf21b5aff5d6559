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

from accounts.actor import Actor
from agents.config import MEMORY_TYPES
from agents.inputs.wizard import SEEDS_MAX, WizardSerializer, connector_tool_type, schedule_data
from agents.models import Agent, Memory, MemoryKind
from agents.services.agents import agent_create
from agents.services.config import model_ref_errors, models_errors
from agents.services.schedules import schedule_create
from agents.services.skills import skills_connect
from core.errors import ValidationFailed
from core.naming import first_free
from core.validation import validated

TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")  # tool ids become function names, which allow only these


@dataclass(frozen=True)
class WizardResult:
    agent: Agent
    seed_counts: dict[str, int]


def wizard_validate(data) -> dict:
    """The wizard body checked whole (shape, models against the providers); 400 with every problem."""
    clean = dict(validated(WizardSerializer(data=data)))
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


def _seed_tasks(agent: Agent, actor: Actor, tasks: list[dict]) -> None:
    for task, name in zip(tasks, _task_names(tasks)):
        schedule_create(agent=agent, actor=actor, data=schedule_data(task, name))


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
