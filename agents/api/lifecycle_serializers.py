"""Shapes of the versions and runtime endpoints (API.md §7)."""

from rest_framework import serializers

from agents.api.serializers import PipelineSerializer, UserRefSerializer
from agents.config import AgentConfigSerializer, public_config
from agents.models import RuntimeState
from agents.services.versions import CHANGELOG_MAX


class VersionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="1-based; grows by one per saved version.")
    changelog = serializers.CharField()
    author = UserRefSerializer(allow_null=True)
    content_hash = serializers.CharField(help_text="SHA-256 of the canonical JSON of config and pipeline.")
    created_at = serializers.DateTimeField()


class VersionDetailSerializer(VersionSerializer):
    config = serializers.SerializerMethodField()
    pipeline = PipelineSerializer()

    def get_config(self, version) -> AgentConfigSerializer:
        return public_config(version.config)


class VersionSaveSerializer(serializers.Serializer):
    changelog = serializers.CharField(max_length=CHANGELOG_MAX, allow_blank=True, required=False, default="")


class ChangeSerializer(serializers.Serializer):
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class VersionDiffSerializer(serializers.Serializer):
    a = serializers.CharField(help_text='"v1", "v2", … or "draft".')
    b = serializers.CharField()
    changes = serializers.DictField(child=ChangeSerializer(),
                                    help_text='{"config.model.model": {"old": …, "new": …}} for every changed leaf.')
    unified = serializers.CharField(help_text="Unified diff of the two definitions as indented JSON.")


class RuntimeStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=RuntimeState.choices)
    deployed_version = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    tools_count = serializers.IntegerField(help_text="Tools of the deployed version while running, else of the draft.")
    active_threads = serializers.IntegerField()


class RedeploySerializer(RuntimeStatusSerializer):
    redeployed = serializers.BooleanField(help_text="False when the agent is stopped: nothing to redeploy.")
