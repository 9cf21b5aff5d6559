"""A memory's writable fields (``POST /agents/{agent}/memories``, ``/remember``, the ``remember`` tool)."""

from rest_framework import serializers

from agents.models import MemoryKind
from core.validation import StrictSerializer

MEMORY_CONTENT_MAX = 10_000


class MemoryFieldsSerializer(StrictSerializer):
    """What a memory holds; ``rule`` memories are instructions the agent must always follow."""

    # DRF's CharField refuses NUL characters (PostgreSQL cannot store them).
    content = serializers.CharField(max_length=MEMORY_CONTENT_MAX, help_text=f"1–{MEMORY_CONTENT_MAX} characters.")
    kind = serializers.ChoiceField(choices=MemoryKind.choices, default=MemoryKind.SEMANTIC)
    metadata = serializers.DictField(default=dict, help_text="Free-form; a rule's category and severity, say.")
