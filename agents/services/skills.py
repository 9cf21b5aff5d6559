"""The skill library (``/skills``: a user's own skills) and the skills
connected to an agent (``/agents/{agent}/skills``).  Reads are in
``agents.selectors`` (``skills_visible_to``, ``agent_skills``)."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.errors import NameTaken
from agents.inputs.skills import SkillFieldsSerializer
from agents.models import Agent, AgentSkill, AuditAction, Skill
from agents.services.audit import audit_record
from core.diffs import diff
from core.errors import Conflict
from core.naming import first_free
from core.validation import validated

SKILL_NAME_MAX = 100


def library_skill(owner, spec: dict, *, source: str) -> Skill:
    """The owner's skill with this name (or a numbered variant) and identical
    content, else a new one under the first free name: ``name``, ``name (2)``…"""
    base = spec["name"][:SKILL_NAME_MAX]
    variant = re.compile(rf"^{re.escape(base[:90])}.* \(\d+\)$")
    same = Skill.objects.filter(owner=owner, name__startswith=base[:90], content=spec["content"]).order_by("name")
    for skill in same:
        if skill.name == base or variant.match(skill.name):
            return skill
    for _attempt in range(5):
        taken = set(Skill.objects.filter(owner=owner, name__startswith=base[:90]).values_list("name", flat=True))
        try:
            with transaction.atomic():  # a savepoint: a name taken meanwhile just tries the next one
                return Skill.objects.create(owner=owner, name=first_free(base, taken, max_length=SKILL_NAME_MAX),
                                            description=spec.get("description", ""), content=spec["content"],
                                            tags=spec.get("tags", []), source=source)
        except IntegrityError:
            continue
    raise Conflict(f"Could not find a free name for skill {base!r}; try again.")


def skills_connect(agent: Agent, specs: list[dict], *, actor: Actor, source: str,
                   auto_connected: bool = False) -> None:
    """Connect each skill spec (``name``, ``description``, ``content``,
    ``tags``) to the agent, from its owner's library."""
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    for spec in specs:
        skill = library_skill(agent.owner, spec, source=source)
        AgentSkill.objects.get_or_create(agent=agent, skill=skill,
                                         defaults={"connected_by": user, "auto_connected": auto_connected})


# --- the library: a user's own skills ----------------------------------------------------------------

def _owner(actor: Actor):
    return actor.user if getattr(actor.user, "is_authenticated", False) else None


def _skill_save(skill: Skill, *, create: bool) -> None:
    """Insert or update, turning the unique (owner, name) into 409 ``name_taken``."""
    try:
        with transaction.atomic():
            skill.save(force_insert=create)
    except IntegrityError:
        raise NameTaken(f"You already have a skill named {skill.name!r}.", errors={"name": ["Already in use."]})


@transaction.atomic
def skill_create(*, actor: Actor, name: str, content: str = "", description: str = "", tags: list | None = None,
                 source: str = "user") -> Skill:
    """Add a skill to the actor's library (validated; 409 ``name_taken`` when
    the actor already has one by that name)."""
    clean = validated(SkillFieldsSerializer(data={"name": name, "content": content, "description": description,
                                                  "tags": [] if tags is None else tags, "source": source}))
    skill = Skill(owner=_owner(actor), **clean)
    _skill_save(skill, create=True)
    return skill


@transaction.atomic
def skill_update(skill: Skill, *, actor: Actor, data: dict) -> Skill:
    """Change some of a skill's fields (``data`` as sent, validated here)."""
    clean = validated(SkillFieldsSerializer(data=data, partial=True))
    for field, value in clean.items():
        setattr(skill, field, value)
    skill.updated_at = timezone.now()
    _skill_save(skill, create=False)
    return skill


def skill_delete(skill: Skill, *, actor: Actor) -> None:
    """Remove a skill from the library, and so from every agent it is connected to."""
    skill.delete()


# --- associations: the skills an agent has ------------------------------------------------------------

def _association(link: AgentSkill) -> dict:
    return {"skill_id": str(link.skill_id), "name": link.skill.name, "editable": link.editable,
            "auto_connected": link.auto_connected}


@transaction.atomic
def skill_attach(agent: Agent, skill: Skill, *, actor: Actor, editable: bool = True,
                 auto_connected: bool = False) -> tuple[AgentSkill, bool]:
    """Connect ``skill`` to the agent; ``(association, created)``.  Attaching
    a connected skill again changes nothing and returns the existing row."""
    link, created = AgentSkill.objects.get_or_create(
        agent=agent, skill=skill,
        defaults={"editable": editable, "auto_connected": auto_connected, "connected_by": _owner(actor)})
    link.skill = skill
    if created:
        audit_record(agent=agent, actor=actor, action=AuditAction.SKILL_ATTACHED,
                     changes=diff({}, {"skill": _association(link)}))
    return link, created


@transaction.atomic
def skill_association_update(link: AgentSkill, *, actor: Actor, editable: bool) -> AgentSkill:
    """Change whether the agent may edit a connected skill."""
    if link.editable != editable:
        before = _association(link)
        link.editable = editable
        link.save(update_fields=["editable"])
        audit_record(agent=link.agent, actor=actor, action=AuditAction.SKILL_UPDATED,
                     changes={"skill.skill_id": {"old": before["skill_id"], "new": before["skill_id"]},
                              **diff({"skill": before}, {"skill": _association(link)})})
    return link


@transaction.atomic
def skill_detach(link: AgentSkill, *, actor: Actor) -> None:
    """Disconnect a skill from the agent (the skill stays in its owner's library)."""
    audit_record(agent=link.agent, actor=actor, action=AuditAction.SKILL_DETACHED,
                 changes=diff({"skill": _association(link)}, {}))
    link.delete()
