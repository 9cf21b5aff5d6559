"""Importing portable agent documents (the format is ``agents.services.exporting``).

A document's agents are created (``seed_only`` skips those whose slug exists)
or, with ``overwrite_conflicts``, replace the existing agent as its owner or
staff would.  A bad item anywhere refuses the whole document: nothing is
written, and the errors name the item (``agents[1].config.model``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from accounts.actor import Actor
from agents.config import ENV_KEY
from agents.inputs.schedules import ScheduleFieldsSerializer
from agents.models import Agent, AgentSkill, AgentStatus, AuditAction, Schedule
from agents.services.agents import agent_create, agent_etag, agent_fields_validate, agent_replace
from agents.services.audit import audit_record
from agents.services.exporting import AGENT_FORMAT, BUNDLE_FORMAT, FORMAT_VERSION
from agents.services.schedules import schedule_create, schedule_delete
from agents.services.skills import skills_connect
from core.errors import ApiError, Forbidden, ValidationFailed, error_summary, flatten_errors

SEED_ONLY, OVERWRITE_CONFLICTS = "seed_only", "overwrite_conflicts"
STRATEGIES = (SEED_ONLY, OVERWRITE_CONFLICTS)
MAX_IMPORT_AGENTS = 500

AGENT_FIELDS = ("slug", "name", "description", "tags", "status", "config", "pipeline")
ITEM_KEYS = ("slug", "name", "description", "tags", "status", "config", "secret_env", "pipeline", "skills",
             "schedules")
SKILL_KEYS = ("name", "description", "content", "tags")
SKILL_NAME_MAX, SKILL_DESCRIPTION_MAX, SKILL_CONTENT_MAX = 100, 500, 200_000
CREATE_DEFAULTS = {"name": None, "description": "", "tags": [], "status": AgentStatus.ACTIVE, "config": {},
                   "pipeline": None}


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
        agent_fields_validate({**CREATE_DEFAULTS, **item.fields}, previous_config=existing.config)
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
