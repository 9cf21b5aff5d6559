"""Limits and helpers for an agent's own fields (name, slug, description,
tags); the fields that enforce them are ``agents.inputs.agents``."""

from __future__ import annotations

import re

from django.utils.text import slugify

SLUG_RE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
UUID_LIKE_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Path segments under /agents/ that are not agents: the API's (check-name, templates, export,
# import, create-from-wizard) and the console's (new, import).
RESERVED_SLUGS = frozenset({"check-name", "templates", "export", "import", "create-from-wizard", "new"})
NAME_MAX, SLUG_MAX, DESCRIPTION_MAX = 100, 64, 500
TAG_MAX, TAGS_MAX = 50, 20
UNDELETABLE_NAME = "default"


def normalize_tags(tags: list[str]) -> list[str]:
    """Trimmed, first occurrence kept."""
    return list(dict.fromkeys(t.strip() for t in tags))


def slug_base(name: str) -> str:
    base = slugify(name)[:SLUG_MAX].strip("-") or "agent"
    base = re.sub(r"-{2,}", "-", base)
    if base in RESERVED_SLUGS or UUID_LIKE_RE.match(base):
        base = f"{base[: SLUG_MAX - 6]}-agent"
    return base


def name_key(name: str) -> str:
    """What agents sort by when sorted by name."""
    return name.casefold()[:NAME_MAX]

