"""Agents as portable documents (API.md §7): the format, and exporting to
JSON or YAML.  Reading a document back is ``agents.services.importing``.

An export is self-contained and reproducible: no ids, no timestamps, no
history and no secrets (their names are listed in ``secret_env`` so whoever
imports knows what to set).  Keys come in a fixed order, so one agent always
exports to the same bytes, and exporting what an import created gives back the
imported document.

    {"format": "agentry.agent", "format_version": 1,
     "agent": {"slug", "name", "description", "tags", "status", "config",
               "secret_env", "pipeline", "skills": [{"name", "description", "content", "tags"}],
               "schedules": [{"name", "cron", "timezone", "input", "enabled", "primary"}]}}

A bundle is ``{"format": "agentry.bundle", "format_version": 1, "counts":
{"agents", "schedules", "skills"}, "agents": [<the "agent" part>, ...]}``.
"""

from __future__ import annotations

import json

import yaml
from django.db import transaction
from django.db.models import Prefetch, QuerySet

from accounts.actor import Actor
from agents import sql as agent_sql
from agents.config import AgentConfigSerializer, public_config
from agents.inputs.portability import AGENT_FORMAT, BUNDLE_FORMAT, FORMAT_VERSION
from agents.models import TAG_PAIRS, Agent, AgentSkill, AuditAction, Schedule
from agents.selectors import exportable_agents
from agents.services.audit import audit_record
from executions.engine.graph import empty_pipeline

EXPORT_FORMATS = ("json", "yaml")
CONFIG_KEY_ORDER = tuple(AgentConfigSerializer().fields)


# --- export ---------------------------------------------------------------------------------

def _with_parts(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """What an export reads besides the agent row, fetched up front."""
    return agents.annotate(**{TAG_PAIRS: agent_sql.tag_pairs()}).prefetch_related(
        Prefetch("skill_links", queryset=AgentSkill.objects.select_related("skill").order_by("connected_at", "id")),
        Prefetch("schedules", queryset=Schedule.objects.order_by("created_at", "id")),
    )


def _whole_numbers(value):
    """Integral floats as ints.  A config's float fields hold ``1`` when
    defaulted but ``1.0`` once validated, so an import would change them; the
    export writes both as ``1``, keeping the document byte-stable."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _exported_config(stored: dict) -> tuple[dict, list[str]]:
    """The config without its secrets, keys in the config's documented order
    (whatever order the database returns), and the secrets' names."""
    public = _whole_numbers(public_config(stored))
    env = public.pop("env", {})
    secrets = sorted(key for key, value in env.items() if isinstance(value, dict))
    config = {key: public[key] for key in CONFIG_KEY_ORDER if key in public}
    config.update({key: value for key, value in public.items() if key not in config})
    config["env"] = {key: env[key] for key in sorted(env) if key not in secrets}
    return config, secrets


def _agent_part(agent: Agent) -> dict:
    config, secrets = _exported_config(agent.config)
    return {
        "slug": agent.slug,
        "name": agent.name,
        "description": agent.description,
        "tags": agent.tag_names,
        "status": agent.status,
        "config": config,
        "secret_env": secrets,
        "pipeline": agent.pipeline or empty_pipeline(),
        "skills": [{"name": link.skill.name, "description": link.skill.description,
                    "content": link.skill.content, "tags": link.skill.tags} for link in agent.skill_links.all()],
        "schedules": [{"name": s.name, "cron": s.cron, "timezone": s.timezone, "input": s.input,
                       "enabled": s.enabled, "primary": s.primary} for s in agent.schedules.all()],
    }


def _audit_export(agent: Agent, actor: Actor, fmt: str, *, bundle: bool) -> None:
    audit_record(agent=agent, actor=actor, action=AuditAction.AGENT_EXPORTED,
                 changes={"export": {"old": None, "new": {"format": fmt, "bundle": bundle}}})


@transaction.atomic
def agent_export(*, agent: Agent, actor: Actor, fmt: str) -> dict:
    """The agent's export document.  Exports are audited: they carry the
    whole configuration (secrets aside) off the server."""
    agent = _with_parts(Agent.objects.filter(pk=agent.pk)).get()
    document = {"format": AGENT_FORMAT, "format_version": FORMAT_VERSION, "agent": _agent_part(agent)}
    _audit_export(agent, actor, fmt, bundle=False)
    return document


@transaction.atomic
def bundle_export(*, actor: Actor, fmt: str) -> dict:
    """Every agent the actor owns or administers, as one bundle with counts."""
    agents = list(_with_parts(exportable_agents(actor.user)))
    parts = [_agent_part(agent) for agent in agents]
    for agent in agents:
        _audit_export(agent, actor, fmt, bundle=True)
    counts = {"agents": len(parts), "schedules": sum(len(p["schedules"]) for p in parts),
              "skills": sum(len(p["skills"]) for p in parts)}
    return {"format": BUNDLE_FORMAT, "format_version": FORMAT_VERSION, "counts": counts, "agents": parts}


class _ExportDumper(yaml.SafeDumper):
    """Block style, multi-line strings as ``|`` literals, and never anchors:
    the importer refuses aliases."""

    def ignore_aliases(self, data):
        return True


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExportDumper.add_representer(str, _represent_str)


def render_document(document: dict, fmt: str) -> bytes:
    """The document as the bytes of a ``.json`` or ``.yaml`` file."""
    if fmt == "yaml":
        text = yaml.dump(document, Dumper=_ExportDumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=120)
    else:
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return text.encode()
