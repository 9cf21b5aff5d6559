"""What clients send the executions app: the body of every run endpoint.
The runs service validates it (``runs.run_request_from_body``) and the API's
schema describes it with the same class."""

from django.conf import settings
from rest_framework import serializers

from core.validation import StrictSerializer

MAX_PROMPT_CHARS = 200_000


class RunOptionsSerializer(StrictSerializer):
    timeout = serializers.IntegerField(
        min_value=1, required=False,
        help_text="Milliseconds the run may take (up to AGENTRY_EXECUTION_MAX_TIMEOUT); then 504 and timed_out.")
    trace = serializers.BooleanField(default=False, help_text="Include the node-by-node trace in the result.")
    version = serializers.JSONField(required=False, help_text='"draft" (default), "deployed" or a version index.')

    def validate_timeout(self, value):
        return _check_timeout_ms(value)


def _check_timeout_ms(value: int) -> int:
    maximum = int(settings.AGENTRY_EXECUTION_MAX_TIMEOUT * 1000)
    if value > maximum:
        raise serializers.ValidationError(f"At most {maximum} ms.")
    return value


class RunRequestSerializer(StrictSerializer):
    """One body for every run endpoint: ``input``, or ``prompt`` (becomes
    ``input.message``), or ``action`` with ``with``; plus ``options``.  The
    Compozy-style ``timeout`` in seconds is accepted too."""

    input = serializers.DictField(required=False, help_text="Input validated against the pipeline's input schema.")
    prompt = serializers.CharField(max_length=MAX_PROMPT_CHARS, required=False, allow_blank=True,
                                   trim_whitespace=False)
    action = serializers.CharField(max_length=64, required=False)
    # ``with`` is a Python keyword, so it joins the fields in get_fields().
    timeout = serializers.IntegerField(min_value=1, required=False, help_text="Seconds (Compozy style).")
    options = RunOptionsSerializer(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["with"] = serializers.DictField(
            required=False, help_text="Structured parameters for an action (or extra input beside a prompt).")
        return fields

    def validate(self, attrs):
        options = attrs.get("options", {})
        if "timeout" in attrs and "timeout" in options:
            raise serializers.ValidationError(
                {"timeout": ["Give timeout (seconds) or options.timeout (ms), not both."]})
        if "timeout" in attrs:
            try:
                _check_timeout_ms(attrs["timeout"] * 1000)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"timeout": exc.detail}) from None
        return attrs

    @staticmethod
    def run_fields(data: dict) -> dict:
        """Validated data as keyword arguments for ``runs.run_request``."""
        options = data.get("options", {})
        timeout_ms = options.get("timeout") or (data["timeout"] * 1000 if "timeout" in data else None)
        return {"input": data.get("input"), "prompt": data.get("prompt"), "action": data.get("action"),
                "with_": data.get("with"), "timeout_ms": timeout_ms, "trace": options.get("trace", False),
                "version": options.get("version")}


ARTIFACT_TYPE = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
ARTIFACT_TYPE_RULE = "Lower-case letters, digits, _ . - (at most 64)."
TAG_MAX_LENGTH = 50


class ArtifactFieldsSerializer(StrictSerializer):
    """``POST /agents/{agent}/artifacts``: something the agent made, to keep.
    ``content`` may be up to 2 MB (UTF-8); more is 413."""

    title = serializers.CharField(max_length=200)
    content = serializers.CharField(trim_whitespace=False, help_text="HTML, Markdown, JSON… up to 2 MB.")
    artifact_type = serializers.RegexField(
        ARTIFACT_TYPE, default="html_report", error_messages={"invalid": ARTIFACT_TYPE_RULE},
        help_text="html_report (default), markdown, json…; HTML types (html, html_*, *_html) are viewable as pages.")
    thread_id = serializers.UUIDField(required=False, allow_null=True, help_text="A thread of this agent.")
    summary = serializers.CharField(max_length=1000, allow_blank=True, default="")
    skill_id = serializers.UUIDField(required=False, allow_null=True,
                                     help_text="The skill that produced it; one you can see.")
    tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX_LENGTH), max_length=20, default=list)
    metadata = serializers.DictField(default=dict)


class AnalyticsQuerySerializer(StrictSerializer):
    """``GET /agents/{agent}/analytics``'s query."""

    days = serializers.IntegerField(min_value=1, max_value=365, default=30,
                                    help_text="Days to look back, today (UTC) included: 1–365.")
