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
from agents.inputs.portability import AGENT_FORMAT, DOCUMENT_SERIALIZERS, AgentItemSerializer, DocumentFormatSerializer
from agents.models import Agent, AgentSkill, AgentStatus, AuditAction, Schedule
from agents.services.agents import agent_create, agent_etag, agent_fields_validate, agent_replace
from agents.services.audit import audit_record
from agents.services.schedules import schedule_create, schedule_delete
from agents.services.skills import skills_connect
from core.errors import ApiError, Forbidden, ValidationFailed, error_summary
from core.validation import validated

SEED_ONLY, OVERWRITE_CONFLICTS = "seed_only", "overwrite_conflicts"
STRATEGIES = (SEED_ONLY, OVERWRITE_CONFLICTS)
CREATE_DEFAULTS = {"name": None, "description": "", "tags": [], "status": AgentStatus.ACTIVE, "config": {},
                   "pipeline": None}


# --- reading a document -----------------------------------------------------------------------

@dataclass
class DocumentItem:
    """One agent of a document, its shape checked (the services check the rest)."""

    fields: dict  # the agent's own fields, as sent
    secret_env: list[str]
    skills: list[dict]
    schedules: list[dict]  # a schedule's fields and whether it is ``primary``

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
    """The agents of an agent document or a bundle, as sent, each with the
    path its errors are reported under; the envelope is checked by
    ``agents.inputs.portability`` (its format first, then its keys)."""
    kind = validated(DocumentFormatSerializer(data=document))["format"]
    body = validated(DOCUMENT_SERIALIZERS[kind](data=document))
    if kind == AGENT_FORMAT:
        return [("agent", body["agent"])]
    return [(f"agents[{i}]", item) for i, item in enumerate(body["agents"])]


def read_item(raw) -> DocumentItem:
    """Check one agent's shape with ``AgentItemSerializer``: known keys,
    skills, schedules and secret names (the agent fields themselves are the
    agent services' to check)."""
    fields = dict(validated(AgentItemSerializer(data=raw)))
    return DocumentItem(secret_env=fields.pop("secret_env"), skills=fields.pop("skills"),
                        schedules=fields.pop("schedules"), fields=fields)


# --- writing an agent -----------------------------------------------------------------------

def _create_schedules(agent: Agent, schedules: list[dict], actor: Actor) -> None:
    errors: dict[str, list[str]] = {}
    for i, spec in enumerate(schedules):
        data = {key: value for key, value in spec.items() if key != "primary"}
        try:
            schedule_create(agent=agent, actor=actor, data=data, primary=spec["primary"])
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
