"""Export and import (API.md §7): ``GET /agents/{agent}/export``,
``POST /agents/export`` and ``POST /agents/import``.

Exports answer with the document itself, not inside ``{"data": ...}``: the
body is a file that ``POST /agents/import`` accepts unchanged.  Errors are
problem+json as everywhere.  The documents are built and checked by
``agents.services.exporting`` and ``agents.services.importing``; the serializers here describe them for
OpenAPI and validate query parameters.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated

from accounts.actor import Actor
from accounts.permissions import WRITE, ActionRulePermission
from accounts.roles import Role
from agents.api.base import AGENT_PATH, AgentScopedViewMixin, PipelineSerializer, agent_rule
from agents.config import AgentConfigSerializer
from agents.inputs.portability import AGENT_FORMAT, BUNDLE_FORMAT, FORMAT_VERSION
from agents.models import AgentStatus
from agents.services import exporting, importing
from agents.services.exporting import EXPORT_FORMATS
from agents.services.importing import SEED_ONLY, STRATEGIES
from core.envelope import data_response, enveloped
from core.parsers import YAML_PARSERS, StrictJSONParser
from core.validation import validated


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


CONTENT_TYPES = {"json": "application/json", "yaml": "application/yaml"}
YAML_TYPES = ", ".join(parser.media_type for parser in YAML_PARSERS)


class FormatIsTheDocuments(DefaultContentNegotiation):
    """``?format=`` picks the export's serialization here, not a DRF renderer
    (which would answer 404 for ``yaml``), and ``Accept`` does not matter:
    documents are sent as asked, errors as problem+json."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _document_response(document: dict, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(exporting.render_document(document, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def _document_responses(serializer, description: str) -> dict:
    return {(200, media_type): OpenApiResponse(serializer, description=description)
            for media_type in CONTENT_TYPES.values()}


FORMAT_PARAM = OpenApiParameter("format", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=list(CONTENT_TYPES),
                                default="json", description="json → application/json, yaml → application/yaml.")


@extend_schema_view(retrieve=extend_schema(
    summary="Export an agent as a JSON or YAML document (admins)",
    description="The body is the document itself, not enveloped: config, pipeline, skills and schedules, "
                "without ids, timestamps, history or secret values (their names are in secret_env). "
                "Audited as agent.exported.",
    parameters=[AGENT_PATH, FORMAT_PARAM],
    responses=_document_responses(AgentDocumentSerializer, "The agent document, as a file to import."),
))
class AgentExportViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    rules = {"retrieve": agent_rule(Role.ADMIN)}
    agent_representation = False
    content_negotiation_class = FormatIsTheDocuments

    def retrieve(self, request, agent=None):
        fmt = validated(ExportQuerySerializer(data=request.query_params))["format"]
        agent = self.get_agent()
        document = exporting.agent_export(agent=agent, actor=self.actor(), fmt=fmt)
        return _document_response(document, fmt, f"{agent.slug}.agent")


@extend_schema_view(create=extend_schema(
    summary="Export every agent you own or administer as one bundle",
    description="The body is the bundle itself, not enveloped, with counts of agents, schedules and skills; "
                "POST /agents/import accepts it unchanged. Each agent's export is audited.",
    request=None, parameters=[FORMAT_PARAM],
    responses=_document_responses(BundleSerializer, "The bundle, as a file to import."),
))
class BundleExportViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionRulePermission]
    serializer_class = BundleSerializer  # what OPTIONS describes
    rules = {"create": WRITE}
    content_negotiation_class = FormatIsTheDocuments

    def create(self, request):
        fmt = validated(ExportQuerySerializer(data=request.query_params))["format"]
        bundle = exporting.bundle_export(actor=Actor.from_request(request), fmt=fmt)
        return _document_response(bundle, fmt, "agents.bundle")


@extend_schema_view(create=extend_schema(
    summary="Import an agent document or a bundle (JSON or YAML)",
    description="The body is an export (agentry.agent or agentry.bundle), as application/json or YAML "
                f"({YAML_TYPES}); other types → 415. Agents are created for you (you own them); with "
                "seed_only an agent whose slug exists is skipped, with overwrite_conflicts it is replaced "
                "(config, pipeline, name, description, tags, status, skill links, schedules; its secrets the "
                "document leaves out are kept) if you own it. Skills go to your skill library: one with the same "
                "name and content is reused, else a new one is made under a free name (\"name (2)\"). All or "
                "nothing: any bad item → 400 (403 when you do not own an agent to overwrite) naming the item "
                "and field, e.g. agents[1].config.model.provider, and nothing is written.",
    parameters=[ImportQuerySerializer],
    request=ImportDocumentSerializer,
    responses={200: enveloped(ImportResultSerializer)},
))
class ImportViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionRulePermission]
    serializer_class = AgentDocumentSerializer  # what OPTIONS describes (a bundle is accepted too)
    parser_classes = [StrictJSONParser, *YAML_PARSERS]
    rules = {"create": WRITE}

    def create(self, request):
        strategy = validated(ImportQuerySerializer(data=request.query_params))["strategy"]
        result = importing.agents_import(actor=Actor.from_request(request), document=request.data,
                                           strategy=strategy)
        return data_response(ImportResultSerializer(result).data)
