"""Rules for an agent's own fields (name, slug, description, tags), shared by
the API's input serializers and the services."""

from __future__ import annotations

import re

from django.utils.text import slugify

SLUG_RE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
UUID_LIKE_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Path segments under /agents/ that are not agents.
RESERVED_SLUGS = frozenset({"check-name", "templates", "export", "import", "create-from-wizard"})
NAME_MAX, SLUG_MAX, DESCRIPTION_MAX = 100, 64, 500
TAG_MAX, TAGS_MAX = 50, 20
UNDELETABLE_NAME = "default"


def slug_problem(slug) -> str | None:
    """Why ``slug`` is not acceptable, or ``None``."""
    if not isinstance(slug, str) or not 1 <= len(slug) <= SLUG_MAX:
        return f"Must be 1–{SLUG_MAX} characters."
    if not SLUG_RE.match(slug):
        return "Use letters, digits and single hyphens, not at the start or end."
    if UUID_LIKE_RE.match(slug):
        return "Cannot have the form of a UUID (ids and slugs share the path)."
    if slug.lower() in RESERVED_SLUGS:
        return f"{slug!r} is reserved."
    return None


def name_problem(name) -> str | None:
    if name is None:
        return "This field is required."
    if not isinstance(name, str):
        return "Must be a string."
    if not name.strip():
        return "This field may not be blank."
    if len(name) > NAME_MAX:
        return f"Ensure this field has no more than {NAME_MAX} characters."
    return None


def description_problem(description) -> str | None:
    if not isinstance(description, str):
        return "Must be a string."
    if len(description) > DESCRIPTION_MAX:
        return f"Ensure this field has no more than {DESCRIPTION_MAX} characters."
    return None


def tags_problem(tags) -> str | None:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "Must be a list of strings."
    if len(tags) > TAGS_MAX:
        return f"At most {TAGS_MAX} tags."
    if any(not t.strip() or len(t) > TAG_MAX for t in tags):
        return f"Each tag is 1–{TAG_MAX} characters."
    return None


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

