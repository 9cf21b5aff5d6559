"""The template catalog: ready-made agents in ``agents/catalog/*.yaml``.

Each file is an export document (``agentry.agent``, see ``portability``) plus
a ``template`` block of catalog metadata (``id``, the file's name; ``title``,
``description``, ``category``), so a catalog file also imports as it is.
``POST /agents`` with ``"template": "<id>"`` creates an agent from one,
schedules and skills included.  The catalog is read once per process.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accounts.actor import Actor
from agents.inputs.portability import AGENT_FORMAT
from agents.models import Agent
from agents.services.agents import merge_patch
from agents.services.importing import agent_create_from_item, document_items, read_item
from core.errors import ApiError, ValidationFailed
from core.naming import first_free
from core.parsers import yaml_load

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"
METADATA_KEYS = ("id", "title", "description", "category")
# What a create from a template may set instead of the template's values;
# ``config`` is merge-patched onto the template's.
OVERRIDABLE = ("name", "slug", "description", "tags", "status", "pipeline")


def _load(path: Path) -> dict:
    document = yaml_load(path.read_text(encoding="utf-8"))
    try:
        if not isinstance(document, dict) or document.get("format") != AGENT_FORMAT:
            raise ValueError(f'format must be "{AGENT_FORMAT}"')
        meta = document.get("template")
        if not isinstance(meta, dict) or any(not isinstance(meta.get(key), str) for key in METADATA_KEYS):
            raise ValueError(f"template needs {', '.join(METADATA_KEYS)}")
        if meta["id"] != path.stem:
            raise ValueError(f"template.id {meta['id']!r} differs from the file name")
        document_items(document)
        read_item(document["agent"])
    except (ValueError, ApiError) as exc:
        raise ImproperlyConfigured(f"Template {path.name}: {exc}") from exc
    return document


@cache
def catalog() -> dict[str, dict]:
    """Every template document by id, parsed once per process."""
    return {path.stem: _load(path) for path in sorted(CATALOG_DIR.glob("*.yaml"))}


def _summary(document: dict) -> dict:
    meta, agent = document["template"], document["agent"]
    nodes = (agent.get("pipeline") or {}).get("nodes") or []
    return {
        **{key: meta[key] for key in METADATA_KEYS},
        "tags": list(agent.get("tags", [])),
        # Without nodes an agent runs its config as one agent node.
        "node_types": list(dict.fromkeys(node["type"] for node in nodes)) or ["agent"],
        "schedules_count": len(agent.get("schedules", [])),
    }


def template_list(*, category: str | None = None) -> list[dict]:
    """The catalog's summaries, by id; only one category's when given."""
    summaries = [_summary(document) for document in catalog().values()]
    return [s for s in summaries if category is None or s["category"] == category]


def _free_name(owner, base: str) -> str:
    """``base``, or ``base 2``, ``base 3``… whichever the owner does not use yet."""
    taken = set(Agent.objects.filter(owner=owner, name__startswith=base[:90]).values_list("name", flat=True))
    return first_free(base, taken, numbered="{base} {n}")


def agent_create_from_template(*, actor: Actor, template, overrides: dict) -> Agent:
    """Create an agent from catalog template ``template``; ``overrides`` are
    the request's agent fields.  Without a ``name``, the template agent's name
    is used, numbered when the actor already has an agent by that name."""
    if not isinstance(template, str) or template not in catalog():
        raise ValidationFailed.from_errors(
            {"template": [f"Unknown template {template!r}; GET {reverse('agent-templates')} lists them."]})
    agent = copy.deepcopy(catalog()[template]["agent"])
    agent.update({key: overrides[key] for key in OVERRIDABLE if key in overrides})
    if "config" in overrides:
        patch = overrides["config"]
        agent["config"] = merge_patch(agent.get("config", {}), patch) if isinstance(patch, dict) else patch
    if "name" not in overrides and isinstance(agent.get("name"), str):
        agent["name"] = _free_name(actor.user, agent["name"])
    return agent_create_from_item(actor=actor, item=read_item(agent), skill_source=f"template:{template}")
