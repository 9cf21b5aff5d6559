"""Export, import and the template catalog (API.md §3, §7).

Exports answer with the document itself, not inside ``{"data": ...}``: the
body is a file that ``POST /agents/import`` accepts unchanged.  Errors are
problem+json as everywhere.
"""

import base64
import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.actor import Actor
from accounts.permissions import READ, WRITE, ActionRulePermission
from accounts.roles import Role
from agents.api.portability_serializers import (
    AgentDocumentSerializer,
    BundleSerializer,
    ExportQuerySerializer,
    ImportDocumentSerializer,
    ImportQuerySerializer,
    ImportResultSerializer,
    TemplateQuerySerializer,
    TemplateSerializer,
)
from agents.api.views import AGENT_PATH, AgentScopedViewMixin, _rule
from agents.services import exporting, importing, templates
from core.envelope import data_response, enveloped
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor
from core.parsers import YAML_PARSERS, StrictJSONParser

CONTENT_TYPES = {"json": "application/json", "yaml": "application/yaml"}
YAML_TYPES = ", ".join(parser.media_type for parser in YAML_PARSERS)


class FormatIsTheDocuments(DefaultContentNegotiation):
    """``?format=`` picks the export's serialization here, not a DRF renderer
    (which would answer 404 for ``yaml``), and ``Accept`` does not matter:
    documents are sent as asked, errors as problem+json."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


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
    rules = {"retrieve": _rule(Role.ADMIN)}
    agent_representation = False
    content_negotiation_class = FormatIsTheDocuments

    def retrieve(self, request, agent=None):
        fmt = _query(ExportQuerySerializer, request)["format"]
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
        fmt = _query(ExportQuerySerializer, request)["format"]
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
        strategy = _query(ImportQuerySerializer, request)["strategy"]
        result = importing.agents_import(actor=Actor.from_request(request), document=request.data,
                                           strategy=strategy)
        return data_response(ImportResultSerializer(result).data)


# --- the template catalog ----------------------------------------------------------------

class _ListQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = serializers.IntegerField(min_value=0, default=0)
    cursor = serializers.CharField(required=False, allow_blank=True)
    sort = serializers.ChoiceField(choices=["id", "-id", "title", "-title", "category", "-category"], default="id")


def _cursor(sort: str, offset: int) -> str:
    raw = json.dumps({"s": sort, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_offset(cursor: str, sort: str) -> int:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if payload["s"] != sort or not isinstance(payload["o"], int) or payload["o"] < 0:
            raise ValueError("cursor belongs to another sort order")
        return payload["o"]
    except Exception:  # any garbage means the same to the client
        raise InvalidCursor("Invalid cursor parameter.",
                            errors={"cursor": ["Malformed or belongs to another sort order."]})


def _list_response(request, items: list[dict]) -> Response:
    """A list held in memory, paginated like the database-backed ones
    (limit, offset or cursor, sort; the same ``meta``)."""
    query = _query(_ListQuerySerializer, request)
    sort, limit = query["sort"], query["limit"]
    items = sorted(items, key=lambda item: (item[sort.lstrip("-")], item["id"]), reverse=sort.startswith("-"))
    offset = _cursor_offset(query["cursor"], sort) if query.get("cursor") else query["offset"]
    page, has_more = items[offset:offset + limit], offset + limit < len(items)
    meta = {"total": len(items), "limit": limit, "offset": offset, "has_more": has_more,
            "next_cursor": _cursor(sort, offset + limit) if has_more else None,
            "prev_cursor": _cursor(sort, max(offset - limit, 0)) if offset > 0 else None}
    return Response({"data": page, "meta": meta})


@extend_schema_view(list=extend_schema(
    summary="The template catalog: ready-made agents to create with POST /agents {\"template\": id}",
    parameters=[TemplateQuerySerializer], responses=TemplateSerializer(many=True),
))
class TemplateViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionRulePermission]
    serializer_class = TemplateSerializer
    filter_backends = []  # the catalog is not a queryset; category is filtered by the service
    rules = {"list": READ}
    sort_fields = ("id", "title", "category")
    default_sort = "id"

    def list(self, request):
        category = _query(TemplateQuerySerializer, request).get("category")
        items = TemplateSerializer(templates.template_list(category=category), many=True).data
        return _list_response(request, items)
