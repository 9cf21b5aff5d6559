"""The fields a client sends: an upload's form fields and a search body."""

from __future__ import annotations

import re

from rest_framework import serializers

from core.validation import StrictSerializer

DOCUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
RESERVED_DOCUMENT_IDS = ("search",)  # /knowledge/search is the search endpoint


def validate_document_id(value: str) -> str:
    if value in RESERVED_DOCUMENT_IDS:
        raise serializers.ValidationError(f"{value!r} is reserved.")
    return value


class UploadFieldsSerializer(StrictSerializer):
    """An upload's form fields besides ``file``."""

    document_id = serializers.RegexField(
        DOCUMENT_ID, required=False, validators=[validate_document_id],
        error_messages={"invalid": "Letters, digits and _ . : - (at most 100), starting with a letter or digit."},
        help_text="Your id for the document; uploading the same id again replaces it. Generated when absent.")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=20, default=list,
                                 help_text="Tags to filter searches by; repeat the field or separate with commas.")
    description = serializers.CharField(max_length=1000, allow_blank=True, default="")


class SearchInputSerializer(StrictSerializer):
    query = serializers.CharField(max_length=2000, help_text="What to look for, in plain words.")
    top_k = serializers.IntegerField(min_value=1, max_value=50, required=False,
                                     help_text="How many passages (default: the agent's config.knowledge.top_k).")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=20, required=False,
                                 help_text="Only documents carrying one of these tags.")


def upload_fields(data) -> dict:
    """An upload's form fields from a ``QueryDict`` (or a dict), tags split on commas."""
    getlist = getattr(data, "getlist", None)
    raw_tags = getlist("tags") if getlist else data.get("tags", [])
    if isinstance(raw_tags, str):
        raw_tags = [raw_tags]
    fields = {key: data.get(key) for key in ("document_id", "description") if data.get(key) is not None}
    tags = [tag.strip() for entry in raw_tags for tag in str(entry).split(",") if tag.strip()]
    if tags:
        fields["tags"] = list(dict.fromkeys(tags))
    unknown = sorted(set(data) - {"file", "document_id", "description", "tags"})
    fields.update({key: data.get(key) for key in unknown})  # refused by the strict serializer
    return fields
