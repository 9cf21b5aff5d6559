"""Request bodies for the skill library (``/skills``) and an agent's skill
associations (``/agents/{agent}/skills``)."""

from rest_framework import serializers

from core.validation import StrictSerializer

SKILL_CONTENT_MAX = 100_000
SKILL_TAGS_MAX = 20


class SkillFieldsSerializer(StrictSerializer):
    """A skill's writable fields; ``name`` is unique among its owner's skills."""

    ignored_fields = ("id", "owner", "created_at", "updated_at")

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, allow_blank=True, default="")
    content = serializers.CharField(max_length=SKILL_CONTENT_MAX, allow_blank=True, default="",
                                    trim_whitespace=False,
                                    help_text="The know-how itself: instructions, a procedure.")
    tags = serializers.ListField(child=serializers.CharField(max_length=50),
                                 max_length=SKILL_TAGS_MAX, default=list)
    source = serializers.CharField(max_length=200, allow_blank=True, default="user",
                                   help_text="Where it came from: user, wizard, import, agent…")


class AgentSkillAttachSerializer(StrictSerializer):
    """``POST /agents/{agent}/skills``: connect a skill the caller can see."""

    skill_id = serializers.UUIDField()
    editable = serializers.BooleanField(default=True, help_text="Whether the agent may edit the skill.")
    auto_connected = serializers.BooleanField(default=False,
                                              help_text="Whether it was connected automatically (not by hand).")


class AgentSkillUpdateSerializer(StrictSerializer):
    """``PUT /agents/{agent}/skills/{skill}``."""

    editable = serializers.BooleanField()
