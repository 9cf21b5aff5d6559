"""What ``POST /agents/import`` reads, and ``agents/catalog/*.yaml`` holds: an
agent document or a bundle, in the format ``agents.services.exporting`` writes (its names are here,
where both sides read them).

A document is checked in the steps the importing service takes it in:
``DocumentFormatSerializer`` first (which format, which version), then that
format's serializer (``AgentDocumentSerializer`` or ``BundleSerializer``) for
the envelope's keys, then ``AgentItemSerializer`` for each agent in turn: its
keys, skills, schedules and secret names.  The agent's own fields (name,
config, pipeline…) are passed on as sent, for the agent services to check.

Each object names all its problems at once, unknown keys included
(``ThoroughSerializer``), and the fields check what they are sent themselves
instead of through DRF's coercions (a skill name of ``5`` is refused, not
stored as ``"5"``), so every problem keeps the message it has always had.
"""

from __future__ import annotations

from rest_framework import serializers

from agents.config import ENV_KEY
from agents.inputs.schedules import ScheduleFieldsSerializer
from agents.validation import TAG_MAX, TAGS_MAX
from core.validation import ObjectSerializer, ThoroughSerializer

AGENT_FORMAT = "agentry.agent"
BUNDLE_FORMAT = "agentry.bundle"
FORMAT_VERSION = 1
MAX_IMPORT_AGENTS = 500
SKILL_NAME_MAX, SKILL_DESCRIPTION_MAX, SKILL_CONTENT_MAX = 100, 500, 200_000


def _messages(message: str, *keys: str) -> dict[str, str]:
    """One message for several of a field's error keys ("required", "null", …)."""
    return dict.fromkeys(keys, message)


class PassThroughField(serializers.Field):
    """Any value, passed on unchanged: the agent services check it."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        return data


class FormatVersionField(serializers.Field):
    default_error_messages = _messages(f"Must be {FORMAT_VERSION}, the only version this server reads.",
                                       "required", "null", "invalid")

    def to_internal_value(self, data):
        if isinstance(data, bool) or data != FORMAT_VERSION:
            self.fail("invalid")
        return data


class StringField(serializers.Field):
    """A string of at most ``max_length`` characters, kept as sent."""

    default_error_messages = {**_messages("Must be a string.", "required", "null", "invalid"),
                              "blank": "This field may not be blank.", "max_length": "At most {max_length} characters."}

    def __init__(self, *, max_length: int, allow_blank: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.allow_blank = max_length, allow_blank

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if not self.allow_blank and not data.strip():
            self.fail("blank")
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return data


class SkillTagsField(serializers.Field):
    default_error_messages = _messages(
        f"Must be a list of at most {TAGS_MAX} strings of at most {TAG_MAX} characters.", "null", "invalid")

    def to_internal_value(self, tags):
        if not isinstance(tags, list) or len(tags) > TAGS_MAX or any(
                not isinstance(tag, str) or len(tag) > TAG_MAX for tag in tags):
            self.fail("invalid")
        return tags


class SecretEnvField(serializers.Field):
    """The names of the secret env values a document leaves out, each once."""

    default_error_messages = _messages("Must be a list of environment variable names.", "null", "invalid")

    def to_internal_value(self, names):
        if not isinstance(names, list) or not all(isinstance(name, str) and ENV_KEY.match(name) for name in names):
            self.fail("invalid")
        return list(dict.fromkeys(names))


class TrueOrFalseField(serializers.Field):
    """``true`` or ``false`` itself (DRF's BooleanField also takes "yes" and 1)."""

    default_error_messages = _messages("Must be true or false.", "null", "invalid")

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


# --- lists ------------------------------------------------------------------------------------

class DocumentListSerializer(serializers.ListSerializer):
    """A list in an agent: "Must be a list." when it is not one, and the rules
    across its items (:meth:`add_list_errors`) reported together with the
    items' own problems, as one answer."""

    default_error_messages = _messages("Must be a list.", "null", "not_a_list")

    def to_internal_value(self, data):
        items, errors = None, {}
        try:
            items = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(data, list):
                raise
            errors = dict(exc.detail)
        self.add_list_errors(data, errors)
        if errors:
            # The items in their order, then the list's own problem.
            order = [*range(len(data)), "non_field_errors"]
            raise serializers.ValidationError({key: errors[key] for key in order if key in errors})
        return items

    def add_list_errors(self, items: list, errors: dict) -> None:
        """Add to ``errors`` (item index → field → messages, or
        ``non_field_errors``) what is wrong across ``items``, as sent."""


def _add_duplicate(errors: dict, index: int, message: str) -> None:
    # Replaces the name's own problem, if any: it is listed twice either way.
    errors.setdefault(index, {})["name"] = [message]


class SkillListSerializer(DocumentListSerializer):
    def add_list_errors(self, skills, errors):
        names = set()
        for index, skill in enumerate(skills):
            name = skill.get("name") if isinstance(skill, dict) else None
            if isinstance(name, str):
                name = name.strip()  # as it is stored
                if name in names:
                    _add_duplicate(errors, index, "Duplicate skill name in this agent.")
                names.add(name)


class ScheduleListSerializer(DocumentListSerializer):
    def add_list_errors(self, schedules, errors):
        names, primaries = set(), 0
        for index, schedule in enumerate(schedules):
            if not isinstance(schedule, dict):
                continue
            name = schedule.get("name")
            if isinstance(name, str):
                if name in names:
                    _add_duplicate(errors, index, "Duplicate schedule name in this agent.")
                names.add(name)
            primaries += schedule.get("primary") is True
        if primaries > 1:
            errors["non_field_errors"] = ["At most one schedule can be primary."]


# --- an agent ---------------------------------------------------------------------------------

class ImportedSkillSerializer(ThoroughSerializer):
    """A skill of an agent, for the importing actor's skill library."""

    default_error_messages = {"invalid": "Must be an object with name, description, content and tags."}

    name = StringField(max_length=SKILL_NAME_MAX, allow_blank=False)
    description = StringField(max_length=SKILL_DESCRIPTION_MAX, default="")
    content = StringField(max_length=SKILL_CONTENT_MAX, default="")
    tags = SkillTagsField(default=list)

    class Meta:
        list_serializer_class = SkillListSerializer

    def validate_name(self, name):
        return name.strip()


class _PrimarySerializer(serializers.Serializer):
    # Declared in a base of its own so that it comes first, before the schedule's fields.
    primary = TrueOrFalseField(default=False)


class ImportedScheduleSerializer(_PrimarySerializer, ScheduleFieldsSerializer):
    """A schedule of an agent: the fields ``schedule_create`` takes, and whether it is the primary one."""

    default_error_messages = _messages("Must be an object with name, cron, timezone, input, enabled and primary.",
                                       "null", "invalid")

    class Meta:
        list_serializer_class = ScheduleListSerializer


class AgentItemSerializer(ThoroughSerializer):
    """One agent of a document.  Its own fields are the agent services' to
    check (``agent_create``); this checks what only a document has."""

    default_error_messages = {"invalid": "Must be an object."}

    slug = PassThroughField()
    name = PassThroughField()
    description = PassThroughField()
    tags = PassThroughField()
    status = PassThroughField()
    config = PassThroughField()
    secret_env = SecretEnvField(default=list)
    pipeline = PassThroughField()
    skills = ImportedSkillSerializer(many=True, default=list)
    schedules = ImportedScheduleSerializer(many=True, default=list)


# --- the document -----------------------------------------------------------------------------

class DocumentFormatSerializer(ObjectSerializer):
    """Which document this is, checked first: the keys it may hold depend on it."""

    default_error_messages = {"invalid": "The document must be an object."}

    format = serializers.ChoiceField(choices=(AGENT_FORMAT, BUNDLE_FORMAT), error_messages=_messages(
        f'Must be "{AGENT_FORMAT}" or "{BUNDLE_FORMAT}".', "required", "null", "invalid_choice"))
    format_version = FormatVersionField()


class AgentDocumentSerializer(ThoroughSerializer, DocumentFormatSerializer):
    """An ``agentry.agent`` document: one agent, as sent."""

    agent = serializers.DictField(error_messages=_messages("Required: an object.", "required", "null", "not_a_dict"))
    template = PassThroughField(help_text="The catalog's metadata: a catalog file imports as it is.")


class BundleSerializer(ThoroughSerializer, DocumentFormatSerializer):
    """An ``agentry.bundle`` document: a list of agents, as sent."""

    agents = serializers.ListField(max_length=MAX_IMPORT_AGENTS, error_messages={
        **_messages("Required: a list.", "required", "null", "not_a_list"),
        "max_length": f"At most {MAX_IMPORT_AGENTS} agents per import."})
    counts = PassThroughField(help_text="The export's summary; not read.")


DOCUMENT_SERIALIZERS = {AGENT_FORMAT: AgentDocumentSerializer, BUNDLE_FORMAT: BundleSerializer}
