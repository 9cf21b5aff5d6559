"""Creating, changing and deleting agents."""

from __future__ import annotations

import copy
import re

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actor import Actor
from accounts.roles import Role
from agents.config import normalize_config, public_config
from agents.errors import NameTaken
from agents.inputs.agents import AgentFieldsSerializer
from agents.models import Agent, AgentMember, AgentStatus, AgentTag, AuditAction
from agents.services.audit import agent_snapshot, audit_record
from agents.services.schedules import periodic_tasks_delete, periodic_tasks_sync
from agents.validation import (
    UNDELETABLE_NAME,
    UUID_LIKE_RE,
    name_key,
    slug_base,
)
from core.diffs import diff
from core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from core.etags import check_if_match, strong_etag
from core.naming import first_free
from core.validation import validated
from executions.engine.graph import validate_pipeline

EDITABLE_FIELDS = ("name", "slug", "description", "tags", "status", "config", "pipeline")


def agent_etag(agent: Agent) -> str:
    """The strong ETag of the agent's current revision."""
    return strong_etag(agent.pk, agent.revision)


def agent_fields_validate(fields: dict, *, previous_config: dict | None = None) -> dict:
    """Check every given field and return them normalised; all problems are
    reported together.  ``previous_config`` keeps secrets sent back masked."""
    errors: dict[str, list[str]] = {}
    clean = dict(fields)
    own = {key: fields[key] for key in AgentFieldsSerializer().fields if key in fields}
    try:
        clean.update(validated(AgentFieldsSerializer(data=own, partial=True)))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if "config" in fields:
        try:
            clean["config"] = normalize_config(fields["config"], previous=previous_config)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "pipeline" in fields:
        clean["pipeline"], pipeline_errors = validate_pipeline(fields["pipeline"])
        errors.update(pipeline_errors)
    if errors:
        raise ValidationFailed.from_errors(errors)
    if "name" in clean:
        clean["name"] = clean["name"].strip()
    return clean


def _ensure_name_free(*, owner, name: str, exclude_pk=None) -> None:
    clash = Agent.objects.filter(owner=owner, name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise NameTaken(f"You already have an agent named {name!r}.", errors={"name": ["Already in use."]})


def _ensure_slug_free(slug: str, exclude_pk=None) -> None:
    clash = Agent.objects.filter(slug=slug)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise NameTaken(f"The slug {slug!r} is taken.", errors={"slug": ["Already in use."]})


def derive_slug(name: str) -> str:
    """A free slug from ``name``: the slugified name, else it with the lowest free numeric suffix."""
    base = slug_base(name)
    taken = set(Agent.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    pattern = re.compile(rf"^{re.escape(base)}-(\d+)$")
    used = {int(m.group(1)) for s in taken if (m := pattern.match(s))}
    n = 2
    while n in used:
        n += 1
    suffix = f"-{n}"
    return f"{base[: 64 - len(suffix)]}{suffix}"


def _set_tags(agent: Agent, tags: list[str]) -> None:
    AgentTag.objects.filter(agent=agent).delete()
    AgentTag.objects.bulk_create([AgentTag(agent=agent, name=t, position=i) for i, t in enumerate(tags)])


class _RetrySlug(Exception):
    """A derived slug was taken between choosing and inserting it."""


def _save_unique(agent: Agent, *, create: bool, slug_explicit: bool) -> None:
    """Insert or update, turning a lost race on a unique field into 409."""
    try:
        with transaction.atomic():
            if create:
                agent.save(force_insert=True)
            else:
                agent.save()
    except IntegrityError:
        if Agent.objects.filter(slug=agent.slug).exclude(pk=agent.pk).exists():
            if not slug_explicit:
                raise _RetrySlug
            raise NameTaken(f"The slug {agent.slug!r} is taken.", errors={"slug": ["Already in use."]})
        raise NameTaken(f"You already have an agent named {agent.name!r}.", errors={"name": ["Already in use."]})


@transaction.atomic
def agent_create(*, actor: Actor, name=None, slug=None, description: str = "", tags=None,
                 status: str = AgentStatus.ACTIVE, config=None, pipeline=None,
                 owner=None, inherit_secrets_from: dict | None = None) -> Agent:
    """Create an agent owned by ``owner`` (default: the actor) and audit it.

    ``inherit_secrets_from`` is a stored config whose secret env values may be
    kept by sending them as ``{"secret": true}`` (duplicate, import).
    """
    fields = {"name": name, "description": description, "tags": tags or [], "status": status,
              "config": config or {}, "pipeline": pipeline}
    if slug is not None:
        fields["slug"] = slug
    clean = agent_fields_validate(fields, previous_config=inherit_secrets_from)
    owner = owner or actor.user
    _ensure_name_free(owner=owner, name=clean["name"])
    if slug is not None:
        _ensure_slug_free(clean["slug"])
    now = timezone.now()
    for _attempt in range(5):
        agent = Agent(
            owner=owner, name=clean["name"], name_key=name_key(clean["name"]),
            slug=clean.get("slug") or derive_slug(clean["name"]),
            description=clean["description"], status=clean["status"], config=clean["config"],
            pipeline=clean["pipeline"], created_at=now, updated_at=now, last_activity=now,
        )
        try:
            _save_unique(agent, create=True, slug_explicit=slug is not None)
            break
        except _RetrySlug:
            continue
    else:
        raise Conflict("Could not find a free slug; give one explicitly.")
    _set_tags(agent, clean["tags"])
    AgentMember.objects.create(agent=agent, user=owner, role=Role.OWNER, added_by=actor.user)
    audit_record(agent=agent, actor=actor, action=AuditAction.AGENT_CREATED,
                 changes=diff({}, agent_snapshot(agent, clean["tags"])))
    return agent


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` removes."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def agent_lock(agent: Agent, *, if_match: list[str] | None = None, required: bool = False) -> Agent:
    """Re-read the agent under a row lock (inside the caller's transaction)
    and check ``If-Match`` against it, so a precondition and the write it
    guards see the same revision; ``required`` makes a missing If-Match 428."""
    current = Agent.objects.select_for_update().select_related("owner").get(pk=agent.pk)
    check_if_match(if_match, agent_etag(current), required=required)
    return current


def agent_changes_apply(agent: Agent, clean: dict, *, actor: Actor, action: str, before: dict) -> Agent:
    """Write validated fields (from :func:`agent_fields_validate`) to a locked
    agent: bump its revision and audit the diff against ``before`` (an
    ``agent_snapshot``).  Nothing is written when nothing changed."""
    for field in ("name", "slug", "description", "status", "config", "pipeline"):
        if field in clean:
            setattr(agent, field, clean[field])
    agent.name_key = name_key(agent.name)
    if "tags" in clean:
        _set_tags(agent, clean["tags"])
    after = agent_snapshot(agent, clean.get("tags", before["tags"]))
    changes = diff(before, after)
    if not changes:
        return agent
    now = timezone.now()
    agent.updated_at = agent.last_activity = now
    agent.revision += 1
    _save_unique(agent, create=False, slug_explicit=True)
    audit_record(agent=agent, actor=actor, action=action, changes=changes)
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, actor: Actor, changes: dict, if_match: list[str] | None = None) -> Agent:
    """PATCH: given fields replace the stored ones; ``config`` is merged as a
    JSON merge patch (``null`` resets a key to its default)."""
    agent = agent_lock(agent, if_match=if_match)
    before = agent_snapshot(agent)
    fields = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if "config" in fields:
        if fields["config"] is None:  # merge-patch null: back to the defaults
            fields["config"] = {}
        elif not isinstance(fields["config"], dict):
            raise ValidationFailed("config must be an object.", errors={"config": ["Must be an object."]})
        else:
            fields["config"] = merge_patch(public_config(agent.config), fields["config"])
    clean = agent_fields_validate(fields, previous_config=agent.config)
    if "name" in clean:
        _ensure_name_free(owner=agent.owner_id, name=clean["name"], exclude_pk=agent.pk)
    if "slug" in clean:
        _ensure_slug_free(clean["slug"], exclude_pk=agent.pk)
    return agent_changes_apply(agent, clean, actor=actor, action=AuditAction.AGENT_UPDATED, before=before)


@transaction.atomic
def agent_replace(*, agent: Agent, actor: Actor, data: dict, if_match: list[str] | None) -> Agent:
    """PUT on an existing agent: the body is the full representation; absent
    fields return to their defaults.  ``If-Match`` is required."""
    agent = agent_lock(agent, if_match=if_match, required=True)
    before = agent_snapshot(agent)
    fields = {
        "name": data.get("name"),
        "description": data.get("description", ""),
        "tags": data.get("tags", []),
        "status": data.get("status", AgentStatus.ACTIVE),
        "config": data.get("config") or {},
        "pipeline": data.get("pipeline"),
    }
    clean = agent_fields_validate(fields, previous_config=agent.config)
    _ensure_name_free(owner=agent.owner_id, name=clean["name"], exclude_pk=agent.pk)
    return agent_changes_apply(agent, clean, actor=actor, action=AuditAction.AGENT_REPLACED, before=before)


@transaction.atomic
def agent_put(*, actor: Actor, ref: str, existing: Agent | None, data: dict,
              if_match: list[str] | None) -> tuple[Agent, bool]:
    """``PUT /agents/{ref}``: replace ``existing``, or create an agent with
    slug ``ref`` when there is none.  Returns the agent and whether it was created.

    Creation is by slug only (an unknown UUID is 404), and ``If-Match`` on an
    absent agent can never match (RFC 9110 §13.1.1).
    """
    if existing is not None:
        return agent_replace(agent=existing, actor=actor, data=data, if_match=if_match), False
    if UUID_LIKE_RE.match(ref):
        raise NotFound("Agent not found.")
    if if_match is not None:
        raise PreconditionFailed("If-Match was given but the agent does not exist.")
    if data.get("slug", ref) != ref:
        raise ValidationFailed("The body's slug differs from the path's.",
                               errors={"slug": ["Must match the slug in the path."]})
    return agent_create(actor=actor, **{**data, "slug": ref}), True


@transaction.atomic
def agent_set_status(*, agent: Agent, actor: Actor, status: str) -> Agent:
    """Set ``active``, ``paused`` or ``disabled``, audited."""
    agent_fields_validate({"status": status})
    agent = agent_lock(agent)
    before = agent_snapshot(agent)
    agent = agent_changes_apply(agent, {"status": status}, actor=actor, action=AuditAction.AGENT_STATUS_CHANGED,
                                before=before)
    periodic_tasks_sync(agent)  # a paused agent's schedules stop firing
    return agent


@transaction.atomic
def agent_delete(*, agent: Agent, actor: Actor, if_match: list[str] | None = None) -> None:
    """Delete the agent and everything that belongs to it; the audit log keeps a record."""
    agent = agent_lock(agent, if_match=if_match)
    if agent.name == UNDELETABLE_NAME or agent.slug == UNDELETABLE_NAME:
        raise Conflict("The default agent cannot be deleted.")
    audit_record(agent=agent, actor=actor, action=AuditAction.AGENT_DELETED,
                 changes=diff(agent_snapshot(agent), {}))
    periodic_tasks_delete(agent)
    _lock_rows_of_live_work(agent)
    agent.delete()


# What an agent's running work writes rows under, besides the agent itself:
# a chat turn's journal and answer (its thread), a run's steps, events and
# artifacts (its execution), an ingestion's chunks (its document).  Named, not
# imported: they belong to the layers above (DESIGN.md).
LIVE_WORK_PARENTS = (("conversations", "Thread"), ("executions", "Execution"), ("knowledge", "Document"))


def _lock_rows_of_live_work(agent: Agent) -> None:
    """Lock the agent's threads, executions and documents before the delete
    collects what belongs to them.  Work storing rows under one of them (on
    PostgreSQL, where writers overlap) is waited for, and its rows go with
    the agent; work that comes after finds its parent gone.  Unlocked, a
    journal committing between the DELETE of a thread's events and the
    thread's own failed the agent's delete at commit."""
    for app_label, model_name in LIVE_WORK_PARENTS:
        model = apps.get_model(app_label, model_name)
        list(model.objects.select_for_update().filter(agent=agent).values_list("pk", flat=True))


@transaction.atomic
def agent_duplicate(*, agent: Agent, actor: Actor, name: str | None = None) -> Agent:
    """Copy config, pipeline, description and tags into a new agent the actor owns."""
    tags = agent.tag_names
    if name is None:
        name = _free_copy_name(actor.user, agent.name)
    copy_ = agent_create(
        actor=actor, name=name, description=agent.description, tags=tags, status=agent.status,
        config=public_config(agent.config), pipeline=agent.pipeline, inherit_secrets_from=agent.config,
    )
    audit_record(agent=copy_, actor=actor, action=AuditAction.AGENT_DUPLICATED,
                 changes={"source": {"old": None, "new": str(agent.pk)}})
    return copy_


def _free_copy_name(owner, name: str) -> str:
    first = f"{name} (copy)"[:100]
    taken = set(Agent.objects.filter(owner=owner, name__startswith=first[:90]).values_list("name", flat=True))
    return first_free(name, taken, first=first, numbered="{base} (copy {n})")
