"""``/agents/{agent}/knowledge``: upload, list, get and delete documents, and
``/agents/{agent}/knowledge/search`` (API.md §6).  Writes need the admin
role and ``agents:write``; reads and search the viewer role and ``agents:read``."""

import functools

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.response import Response

from accounts.roles import Role
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, agent_rule
from core.awaiting import Awaiting
from core.envelope import data_response, enveloped
from core.errors import ValidationFailed
from core.parsers import StrictJSONParser
from core.validation import validated
from executions.knowledge import selectors
from executions.knowledge.inputs import SearchInputSerializer, UploadFieldsSerializer, upload_fields
from executions.knowledge.models import Document, DocumentKind, DocumentStatus
from executions.knowledge.services import documents
from executions.knowledge.uploads import DocumentUploadParser

DOCUMENT_PATH = OpenApiParameter("doc", OpenApiTypes.STR, OpenApiParameter.PATH, description="The document_id.")
STATUS_FILTER = OpenApiParameter("status", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                                 enum=DocumentStatus.values, description="Only documents with this status.")
READ, WRITE = agent_rule(Role.VIEWER), agent_rule(Role.ADMIN)


class DocumentSerializer(serializers.Serializer):
    document_id = serializers.CharField()
    filename = serializers.CharField(help_text="The name the file was uploaded with (metadata only).")
    file_size = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DocumentKind.choices, help_text="Recognised from the file's content.")
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    progress = serializers.IntegerField(help_text="0–100 while processing.")
    error = serializers.CharField(allow_null=True, help_text="Why the ingestion failed; null unless failed.")
    chunk_count = serializers.IntegerField()
    pages = serializers.IntegerField(allow_null=True, help_text="Pages (PDF) or slides (PPTX).")
    tags = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    embedding_model = serializers.CharField(allow_null=True,
                                            help_text="provider:model that embedded the chunks; null: full text only.")
    execution_id = serializers.UUIDField(allow_null=True,
                                         help_text="The latest ingestion execution (trigger knowledge).")
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    indexed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, document):
        data = super().to_representation(document)
        data["error"] = document.error or None
        data["embedding_model"] = document.embedding_model or None
        return data


class UploadSerializer(UploadFieldsSerializer):
    """The multipart form (for the schema)."""

    file = serializers.FileField(help_text="PDF, PPTX, DOCX, HTML, Markdown or plain text, told by its content.")


class HitSerializer(serializers.Serializer):
    document_id = serializers.CharField()
    filename = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    chunk = serializers.IntegerField(help_text="The chunk's position in its document (0-based).")
    heading = serializers.CharField()
    score = serializers.FloatField(help_text="Fused reciprocal-rank score in hybrid mode; the full-text "
                                             "relevance in full_text mode. Higher is better.")
    text = serializers.CharField()
    retrievers = serializers.ListField(child=serializers.ChoiceField(choices=["full_text", "vector"]))


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.ChoiceField(choices=["hybrid", "full_text"])
    note = serializers.CharField(help_text="Which retrievers ran, and why vectors did not when they did not.")
    results = HitSerializer(many=True)


UPLOAD_ERRORS = {
    400: OpenApiResponse(description="validation_error: no file, an empty file, or bad form fields."),
    413: OpenApiResponse(description="payload_too_large: the file passes AGENTRY_KNOWLEDGE_MAX_BYTES, or the "
                                     "agent's documents would pass AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES."),
    415: OpenApiResponse(description="unsupported_media_type: not a PDF, PPTX, DOCX, HTML, Markdown or text file."),
    429: OpenApiResponse(description="rate_limited: the agent has AGENTRY_KNOWLEDGE_MAX_DOCUMENTS documents."),
    502: OpenApiResponse(description="ingest_error: the ingestion could not be queued."),
}


@extend_schema_view(
    list=extend_schema(summary="List the agent's documents with their ingestion status",
                       parameters=[AGENT_PATH, STATUS_FILTER], responses=DocumentSerializer(many=True)),
    create=extend_schema(
        summary="Upload a document; it is ingested in a worker", parameters=[AGENT_PATH],
        request={"multipart/form-data": UploadSerializer},
        responses={201: enveloped(DocumentSerializer), **UPLOAD_ERRORS}),
    retrieve=extend_schema(summary="Get a document's status", parameters=[AGENT_PATH, DOCUMENT_PATH],
                           responses=enveloped(DocumentSerializer)),
    destroy=extend_schema(summary="Delete a document, its chunks and its file", parameters=[AGENT_PATH, DOCUMENT_PATH],
                          responses={204: NO_CONTENT}),
)
class KnowledgeViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/knowledge`` and ``/agents/{agent}/knowledge/{doc}``."""

    serializer_class = DocumentSerializer
    queryset = Document.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("created_at", "updated_at")
    default_sort = "-created_at"
    rules = {"list": READ, "retrieve": READ, "create": WRITE, "destroy": WRITE}
    parser_classes = [DocumentUploadParser]

    def get_document(self) -> Document:
        return selectors.document_get_for_agent(agent=self.get_agent(), document_id=self.kwargs["doc"])

    def list(self, request, agent=None):
        status = request.query_params.get("status") or None
        if status and status not in DocumentStatus.values:
            raise ValidationFailed(f"status must be one of {', '.join(DocumentStatus.values)}.",
                                   errors={"status": ["Unknown status."]})
        page = self.paginate_queryset(selectors.document_list_for_agent(agent=self.get_agent(), status=status))
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    def create(self, request, agent=None):
        try:
            document = documents.document_upload(agent=self.get_agent(), actor=self.actor(),
                                                 uploaded=request.FILES.get("file"), data=upload_fields(request.data))
        finally:
            for uploaded in request.FILES.values():  # DRF's files are not the request's: Django won't close them
                uploaded.close()
        return data_response(DocumentSerializer(document).data, status=http.HTTP_201_CREATED)

    def retrieve(self, request, agent=None, doc=None):
        return data_response(DocumentSerializer(self.get_document()).data)

    def destroy(self, request, agent=None, doc=None):
        documents.document_delete(document=self.get_document())
        return Response(status=http.HTTP_204_NO_CONTENT)



class KnowledgeSearchViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``POST /agents/{agent}/knowledge/search``: the agent's own documents only."""

    serializer_class = SearchResultSerializer
    agent_representation = False
    rules = {"search": READ}
    parser_classes = [StrictJSONParser]

    @extend_schema(summary="Search the knowledge base (hybrid: full text, plus vectors with an embedding model)",
                   parameters=[AGENT_PATH], request=SearchInputSerializer,
                   responses=enveloped(SearchResultSerializer))
    def search(self, request, agent=None):
        body = validated(SearchInputSerializer(data=request.data))
        agent = self.get_agent()
        search = functools.partial(selectors.knowledge_search_for_definition, agent.pk, agent.config, body["query"],
                                   top_k=body.get("top_k"), tags=body.get("tags"))
        # The query's embedding is awaited on the event loop, not on this thread (core.awaiting).
        return Awaiting.drf(self, request, search, lambda found: data_response({"query": body["query"], **found}))
