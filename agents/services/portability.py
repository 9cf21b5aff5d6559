"""Agents as portable documents: export to JSON or YAML, import back, on this
server or another (API.md §7).

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
from dataclasses import dataclass, field

import yaml
from django.db import transaction
from django.db.models import Prefetch, QuerySet

from accounts.actor import Actor
from accounts.roles import Role
from agents.config import ENV_KEY, AgentConfigSerializer, public_config
from agents.models import Agent, AgentSkill, AgentStatus, AgentTag, AuditAction, Schedule
from agents.selectors import agents_visible_to
from agents.services.agents import _validate_fields, agent_create, agent_etag, agent_replace
from agents.services.audit import audit_record
from agents.services.schedules import ScheduleFieldsSerializer, schedule_create, schedule_delete
from agents.services.skills import skills_connect
from core.errors import ApiError, Forbidden, ValidationFailed, error_summary, flatten_errors
from executions.engine.graph import empty_pipeline

AGENT_FORMAT = "agentry.agent"
BUNDLE_FORMAT = "agentry.bundle"
FORMAT_VERSION = 1
EXPORT_FORMATS = ("json", "yaml")
SEED_ONLY, OVERWRITE_CONFLICTS = "seed_only", "overwrite_conflicts"
STRATEGIES = (SEED_ONLY, OVERWRITE_CONFLICTS)
MAX_IMPORT_AGENTS = 500

AGENT_FIELDS = ("slug", "name", "description", "tags", "status", "config", "pipeline")
ITEM_KEYS = ("slug", "name", "description", "tags", "status", "config", "secret_env", "pipeline", "skills",
             "schedules")
SKILL_KEYS = ("name", "description", "content", "tags")
SKILL_NAME_MAX, SKILL_DESCRIPTION_MAX, SKILL_CONTENT_MAX = 100, 500, 200_000
CONFIG_KEY_ORDER = tuple(AgentConfigSerializer().fields)
CREATE_DEFAULTS = {"name": None, "description": "", "tags": [], "status": AgentStatus.ACTIVE, "config": {},
                   "pipeline": None}


# --- export ---------------------------------------------------------------------------------

def _with_parts(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """What an export reads besides the agent row, fetched up front."""
    return agents.prefetch_related(
        Prefetch("tag_rows", queryset=AgentTag.objects.order_by("position")),
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
        "tags": [tag.name for tag in agent.tag_rows.all()],
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


def exportable_agents(user) -> QuerySet[Agent]:
    """The agents ``user`` may export: those they own or administer (all of them for staff)."""
    return agents_visible_to(user).filter(role__in=[Role.OWNER, Role.ADMIN]).order_by("slug")


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


# --- reading a document -----------------------------------------------------------------------

@dataclass
class DocumentItem:
    """One agent of a document, its shape checked (the services check the rest)."""

    fields: dict
    secret_env: list[str]
    skills: list[dict]
    schedules: list[dict]

    @property
    def slug(self):
        return self.fields.get("slug")


def _join(path: str, key: str) -> str:
    if not path:
        return key
    if key in ("", "non_field_errors"):
        return path
    return f"{path}{key}" if key.startswith("[") else f"{path}.{key}"


def _prefixed(errors: dict, path: str) -> dict:
    return {_join(path, key): messages for key, messages in errors.items()}


def document_items(document) -> list[tuple[str, object]]:
    """The agents of an agent document or a bundle, each with the path its errors are reported under."""
    if not isinstance(document, dict):
        raise ValidationFailed.from_errors({"non_field_errors": ["The document must be an object."]})
    errors: dict[str, list[str]] = {}
    kind, version = document.get("format"), document.get("format_version")
    if kind not in (AGENT_FORMAT, BUNDLE_FORMAT):
        errors["format"] = [f'Must be "{AGENT_FORMAT}" or "{BUNDLE_FORMAT}".']
    if version != FORMAT_VERSION or isinstance(version, bool):
        errors["format_version"] = [f"Must be {FORMAT_VERSION}, the only version this server reads."]
    if errors:
        raise ValidationFailed.from_errors(errors)
    if kind == AGENT_FORMAT:
        # "template" is the catalog's metadata: a catalog file imports as it is.
        allowed, key = {"format", "format_version", "agent", "template"}, "agent"
    else:
        allowed, key = {"format", "format_version", "agents", "counts"}, "agents"
    errors = {name: ["Unknown field."] for name in sorted(set(document) - allowed)}
    body = document.get(key)
    if kind == AGENT_FORMAT and not isinstance(body, dict):
        errors["agent"] = ["Required: an object."]
    elif kind == BUNDLE_FORMAT and not isinstance(body, list):
        errors["agents"] = ["Required: a list."]
    elif kind == BUNDLE_FORMAT and len(body) > MAX_IMPORT_AGENTS:
        errors["agents"] = [f"At most {MAX_IMPORT_AGENTS} agents per import."]
    if errors:
        raise ValidationFailed.from_errors(errors)
    return [("agent", body)] if kind == AGENT_FORMAT else [(f"agents[{i}]", item) for i, item in enumerate(body)]


def _string_problem(value, *, maximum: int, required: bool = False) -> str | None:
    if not isinstance(value, str):
        return "Must be a string."
    if required and not value.strip():
        return "This field may not be blank."
    if len(value) > maximum:
        return f"At most {maximum} characters."
    return None


def _read_skills(raw, errors: dict) -> list[dict]:
    if not isinstance(raw, list):
        errors["skills"] = ["Must be a list."]
        return []
    skills, names = [], set()
    for i, spec in enumerate(raw):
        here = f"skills[{i}]"
        if not isinstance(spec, dict):
            errors[here] = ["Must be an object with name, description, content and tags."]
            continue
        for key in sorted(set(spec) - set(SKILL_KEYS)):
            errors[f"{here}.{key}"] = ["Unknown field."]
        skill = {"name": spec.get("name"), "description": spec.get("description", ""),
                 "content": spec.get("content", ""), "tags": spec.get("tags", [])}
        for key, maximum, required in (("name", SKILL_NAME_MAX, True), ("description", SKILL_DESCRIPTION_MAX, False),
                                       ("content", SKILL_CONTENT_MAX, False)):
            problem = _string_problem(skill[key], maximum=maximum, required=required)
            if problem:
                errors[f"{here}.{key}"] = [problem]
        tags = skill["tags"]
        if not isinstance(tags, list) or len(tags) > 20 or any(not isinstance(t, str) or len(t) > 50 for t in tags):
            errors[f"{here}.tags"] = ["Must be a list of at most 20 strings of at most 50 characters."]
        if isinstance(skill["name"], str):
            skill["name"] = skill["name"].strip()
            if skill["name"] in names:
                errors[f"{here}.name"] = ["Duplicate skill name in this agent."]
            names.add(skill["name"])
        skills.append(skill)
    return skills


def _read_schedules(raw, errors: dict) -> list[dict]:
    if not isinstance(raw, list):
        errors["schedules"] = ["Must be a list."]
        return []
    schedules, names, primaries = [], set(), 0
    for i, spec in enumerate(raw):
        here = f"schedules[{i}]"
        if not isinstance(spec, dict):
            errors[here] = ["Must be an object with name, cron, timezone, input, enabled and primary."]
            continue
        data = {key: value for key, value in spec.items() if key != "primary"}
        primary = spec.get("primary", False)
        if not isinstance(primary, bool):
            errors[f"{here}.primary"] = ["Must be true or false."]
        primaries += primary is True
        check = ScheduleFieldsSerializer(data=data)
        if not check.is_valid():
            errors.update(flatten_errors(check.errors, here))
        name = data.get("name")
        if isinstance(name, str):
            if name in names:
                errors[f"{here}.name"] = ["Duplicate schedule name in this agent."]
            names.add(name)
        schedules.append({"data": data, "primary": primary is True})
    if primaries > 1:
        errors["schedules"] = ["At most one schedule can be primary."]
    return schedules


def read_item(raw) -> DocumentItem:
    """Check one agent's shape: known keys, skills, schedules and secret names
    (the agent fields themselves are the agent services' to check)."""
    if not isinstance(raw, dict):
        raise ValidationFailed.from_errors({"non_field_errors": ["Must be an object."]})
    errors: dict[str, list[str]] = {key: ["Unknown field."] for key in sorted(set(raw) - set(ITEM_KEYS))}
    secret_env = raw.get("secret_env", [])
    if not isinstance(secret_env, list) or not all(isinstance(n, str) and ENV_KEY.match(n) for n in secret_env):
        errors["secret_env"] = ["Must be a list of environment variable names."]
        secret_env = []
    skills = _read_skills(raw.get("skills", []), errors)
    schedules = _read_schedules(raw.get("schedules", []), errors)
    if errors:
        raise ValidationFailed.from_errors(errors)
    fields = {key: raw[key] for key in AGENT_FIELDS if key in raw}
    return DocumentItem(fields=fields, secret_env=list(dict.fromkeys(secret_env)), skills=skills,
                        schedules=schedules)


# --- writing an agent -----------------------------------------------------------------------

def _create_schedules(agent: Agent, schedules: list[dict], actor: Actor) -> None:
    errors: dict[str, list[str]] = {}
    for i, spec in enumerate(schedules):
        try:
            schedule_create(agent=agent, actor=actor, data=spec["data"], primary=spec["primary"])
        except ApiError as exc:
            errors.update(_prefixed(exc.errors or {"non_field_errors": [exc.detail]}, f"schedules[{i}]"))
    if errors:
        raise ValidationFailed.from_errors(errors)


@transaction.atomic
def agent_create_from_item(*, actor: Actor, item: DocumentItem, skill_source: str) -> Agent:
    """Create the item's agent, owned by the actor, with its skills (from the
    actor's skill library) and schedules; validated as ``POST /agents`` is."""
    agent = agent_create(actor=actor, **item.fields)
    skills_connect(agent, item.skills, actor=actor, source=skill_source)
    _create_schedules(agent, item.schedules, actor)
    return agent


def _keep_secrets(config, previous: dict):
    """The document's config plus the agent's secrets the document leaves
    out, sent as ``{"secret": true}`` so the stored values are kept."""
    if not isinstance(config, dict) or not isinstance(config.get("env", {}), dict):
        return config
    env = config.get("env", {})
    kept = {key: {"secret": True} for key, value in (previous.get("env") or {}).items()
            if value.get("secret") and key not in env}
    return {**config, "env": {**env, **kept}}


def _overwrite(agent: Agent, item: DocumentItem, actor: Actor) -> Agent:
    if not (actor.user.is_staff or agent.owner_id == actor.user.pk):
        raise Forbidden(f"Only the owner of {agent.slug!r} can overwrite it.",
                        errors={"slug": ["An agent with this slug exists and you are not its owner."]})
    fields = {key: value for key, value in item.fields.items() if key != "slug"}
    fields["config"] = _keep_secrets(fields.get("config"), agent.config)
    agent = agent_replace(agent=agent, actor=actor, data=fields, if_match=[agent_etag(agent)])
    AgentSkill.objects.filter(agent=agent).delete()
    skills_connect(agent, item.skills, actor=actor, source="import")
    for schedule in Schedule.objects.filter(agent=agent).select_related("agent"):
        schedule_delete(schedule=schedule, actor=actor)
    _create_schedules(agent, item.schedules, actor)
    return agent


# --- import ---------------------------------------------------------------------------------

@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    secrets_to_set: dict[str, list[str]] = field(default_factory=dict)


def _import_item(raw, *, actor: Actor, strategy: str, result: ImportResult) -> None:
    item = read_item(raw)
    slug = item.slug
    existing = Agent.objects.filter(slug=slug).first() if isinstance(slug, str) else None
    if existing is not None and strategy == SEED_ONLY:
        # Skipped, yet checked as a create would be: an invalid document is refused whole.
        _validate_fields({**CREATE_DEFAULTS, **item.fields}, previous_config=existing.config)
        result.skipped.append(existing.slug)
        return
    if existing is None:
        agent, outcome = agent_create_from_item(actor=actor, item=item, skill_source="import"), "created"
    else:
        agent, outcome = _overwrite(existing, item, actor), "updated"
    (result.created if outcome == "created" else result.updated).append(agent.slug)
    stored_env = agent.config.get("env", {})
    missing = [name for name in item.secret_env if not stored_env.get(name, {}).get("secret")]
    if missing:
        result.secrets_to_set[agent.slug] = missing
    audit_record(agent=agent, actor=actor, action=AuditAction.AGENT_IMPORTED,
                 changes={"import": {"old": None, "new": {"strategy": strategy, "result": outcome}}})


def _duplicate_slugs(items: list[tuple[str, object]]) -> dict[str, list[str]]:
    first_seen, errors = {}, {}
    for path, raw in items:
        slug = raw.get("slug") if isinstance(raw, dict) else None
        if not isinstance(slug, str):
            continue
        if slug in first_seen:
            errors[f"{path}.slug"] = [f"Duplicate slug; {first_seen[slug]} has it too."]
        else:
            first_seen[slug] = path
    return errors


def agents_import(*, actor: Actor, document, strategy: str = SEED_ONLY) -> ImportResult:
    """Create (and with ``overwrite_conflicts`` replace) the document's agents
    for the actor, all or nothing.

    Every item is checked even after one fails, so the error names each bad
    item and field (``agents[1].config.model.provider``); then nothing is
    written.  The error's status is the items' common one (403 when the only
    problem is overwriting agents the actor does not own), else 400.
    """
    if strategy not in STRATEGIES:
        raise ValidationFailed.from_errors({"strategy": [f"Must be one of {', '.join(STRATEGIES)}."]})
    items = document_items(document)
    errors = _duplicate_slugs(items)
    if errors:
        raise ValidationFailed.from_errors(errors)
    result, failures = ImportResult(), []
    with transaction.atomic():
        for path, raw in items:
            try:
                with transaction.atomic():
                    _import_item(raw, actor=actor, strategy=strategy, result=result)
            except ApiError as exc:
                failures.append(exc)
                errors.update(_prefixed(exc.errors or {"non_field_errors": [exc.detail]}, path))
        if failures:
            kinds = {(exc.status, exc.code) for exc in failures}
            status, code = kinds.pop() if len(kinds) == 1 else (400, "validation_error")
            raise ApiError(error_summary(errors), status=status, code=code, errors=errors)
    return result
