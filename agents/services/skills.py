"""The skill library as other services use it: finding or adding a skill, and connecting it to an agent."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from accounts.actor import Actor
from agents.models import Agent, AgentSkill, Skill
from core.errors import Conflict
from core.naming import first_free

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
