"""Shapes of the export document, the import answer and the template catalog.
The documents are built and checked by ``agents.services.exporting`` and ``agents.services.importing``;
these describe them for OpenAPI and validate query parameters."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from agents.api.serializers import PipelineSerializer
from agents.config import AgentConfigSerializer
from agents.models import AgentStatus
from agents.services.exporting import AGENT_FORMAT, BUNDLE_FORMAT, EXPORT_FORMATS, FORMAT_VERSION
from agents.services.importing import SEED_ONLY, STRATEGIES


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="json",
                                     help_text="json (application/json) or yaml (application/yaml).")


class ImportQuerySerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(
        choices=STRATEGIES, default=SEED_ONLY,
        help_text="seed_only skips agents whose slug exists; overwrite_conflicts replaces them (owner only).")


class ExportedSkillSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False)
    content = serializers.CharField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)


class ExportedScheduleSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    cron = serializers.CharField(max_length=100)
    timezone = serializers.CharField(max_length=64, required=False)
    input = serializers.DictField(required=False)
    enabled = serializers.BooleanField(required=False)
    primary = serializers.BooleanField(required=False)


class ExportedAgentSerializer(serializers.Serializer):
    """One agent of a document: the agent's fields, without ids, timestamps or secrets."""

    slug = serializers.CharField(max_length=64, required=False,
                                 help_text="What import matches existing agents by; derived from name when absent.")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False)
    config = AgentConfigSerializer(required=False, help_text="Without secret env values.")
    secret_env = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Names of the secret env values left out; set them after an import.")
    pipeline = PipelineSerializer(required=False)
    skills = ExportedSkillSerializer(many=True, required=False)
    schedules = ExportedScheduleSerializer(many=True, required=False)


class AgentDocumentSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=[AGENT_FORMAT])
    format_version = serializers.ChoiceField(choices=[FORMAT_VERSION])
    agent = ExportedAgentSerializer()


class BundleCountsSerializer(serializers.Serializer):
    agents = serializers.IntegerField()
    schedules = serializers.IntegerField()
    skills = serializers.IntegerField()


class BundleSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=[BUNDLE_FORMAT])
    format_version = serializers.ChoiceField(choices=[FORMAT_VERSION])
    counts = BundleCountsSerializer(required=False, help_text="Informative; ignored on import.")
    agents = ExportedAgentSerializer(many=True)


ImportDocumentSerializer = PolymorphicProxySerializer(
    component_name="ImportDocument",
    serializers={AGENT_FORMAT: AgentDocumentSerializer, BUNDLE_FORMAT: BundleSerializer},
    resource_type_field_name="format",
)


class ImportResultSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField(), help_text="Slugs of the agents created.")
    updated = serializers.ListField(child=serializers.CharField(), help_text="Slugs of the agents overwritten.")
    skipped = serializers.ListField(child=serializers.CharField(), help_text="Slugs that existed (seed_only).")
    secrets_to_set = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per slug, the secret env values the document names but the agent lacks.")


class TemplateQuerySerializer(serializers.Serializer):
    category = serializers.CharField(required=False, help_text="Only this category's templates.")


class TemplateSerializer(serializers.Serializer):
    id = serializers.CharField(help_text='Pass as "template" to POST /agents.')
    title = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    node_types = serializers.ListField(child=serializers.CharField(), help_text="The pipeline's node types.")
    schedules_count = serializers.IntegerField()
