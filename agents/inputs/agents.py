"""An agent's own fields as clients send them (``POST /agents``, ``PUT``,
``PATCH``, imports, the wizard): name, slug, description, tags and status.

Each field holds its rule and says what is wrong in its own words, whatever
it is given (``null`` and the wrong type included), so every caller reports
the same problem the same way.  ``config`` and ``pipeline`` have documents of
their own (``agents.config``, ``executions.engine.graph``).
"""

from __future__ import annotations

from rest_framework import serializers

from agents.models import AgentStatus
from agents.validation import (
    DESCRIPTION_MAX,
    NAME_MAX,
    RESERVED_SLUGS,
    SLUG_MAX,
    SLUG_RE,
    TAG_MAX,
    TAGS_MAX,
    UUID_LIKE_RE,
    normalize_tags,
)
from core.validation import AsSentField


class AgentNameField(AsSentField, serializers.CharField):
    """The agent's name: 1–100 characters, not blank.  Unique among its
    owner's agents, which the services check."""

    def __init__(self, **kwargs):
        super().__init__(max_length=NAME_MAX, trim_whitespace=False, **kwargs)

    def rule(self, value):
        if value is None:
            raise serializers.ValidationError("This field is required.")
        if not isinstance(value, str):
            raise serializers.ValidationError("Must be a string.")
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        if len(value) > NAME_MAX:
            raise serializers.ValidationError(f"Ensure this field has no more than {NAME_MAX} characters.")
        return value


class AgentSlugField(AsSentField, serializers.CharField):
    """The agent's slug: letters, digits and single hyphens, never a UUID's
    form (ids and slugs share the path) nor a reserved path segment."""

    def __init__(self, **kwargs):
        super().__init__(max_length=SLUG_MAX, **kwargs)

    def rule(self, value):
        if not isinstance(value, str) or not 1 <= len(value) <= SLUG_MAX:
            raise serializers.ValidationError(f"Must be 1–{SLUG_MAX} characters.")
        if not SLUG_RE.match(value):
            raise serializers.ValidationError("Use letters, digits and single hyphens, not at the start or end.")
        if UUID_LIKE_RE.match(value):
            raise serializers.ValidationError("Cannot have the form of a UUID (ids and slugs share the path).")
        if value.lower() in RESERVED_SLUGS:
            raise serializers.ValidationError(f"{value!r} is reserved.")
        return value


class AgentDescriptionField(AsSentField, serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=DESCRIPTION_MAX, allow_blank=True, **kwargs)

    def rule(self, value):
        if not isinstance(value, str):
            raise serializers.ValidationError("Must be a string.")
        if len(value) > DESCRIPTION_MAX:
            raise serializers.ValidationError(f"Ensure this field has no more than {DESCRIPTION_MAX} characters.")
        return value


class AgentTagsField(AsSentField, serializers.ListField):
    """At most 20 tags of 1–50 characters; trimmed, the first of duplicates kept."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=TAG_MAX), max_length=TAGS_MAX, **kwargs)

    def rule(self, value):
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            raise serializers.ValidationError("Must be a list of strings.")
        if len(value) > TAGS_MAX:
            raise serializers.ValidationError(f"At most {TAGS_MAX} tags.")
        if any(not tag.strip() or len(tag) > TAG_MAX for tag in value):
            raise serializers.ValidationError(f"Each tag is 1–{TAG_MAX} characters.")
        return normalize_tags(value)


class AgentStatusField(AsSentField, serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=AgentStatus.choices, **kwargs)

    def rule(self, value):
        if value not in AgentStatus.values:
            raise serializers.ValidationError(f"Must be one of {', '.join(AgentStatus.values)}.")
        return value


class AgentFieldsSerializer(serializers.Serializer):
    """The agent's own fields a write may carry, each optional: the services
    run it partially, on exactly the keys the client sent."""

    name = AgentNameField(required=False)
    slug = AgentSlugField(required=False)
    tags = AgentTagsField(required=False)
    description = AgentDescriptionField(required=False)
    status = AgentStatusField(required=False)


def agent_name_is_valid(name) -> bool:
    """Whether ``name`` passes the name rule (check-name answers ``invalid`` otherwise)."""
    try:
        AgentNameField().run_validation(name)
    except serializers.ValidationError:
        return False
    return True
