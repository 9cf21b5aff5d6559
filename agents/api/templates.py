"""``GET /agents/templates``: the catalog of ready-made agents to create with
``POST /agents {"template": id}``.  The catalog is files, not rows, so its
list is paginated in memory like the database-backed ones."""

import base64
import json

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import READ, ActionRulePermission
from agents.services import templates
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor
from core.validation import validated


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
    query = validated(_ListQuerySerializer(data=request.query_params))
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
        category = validated(TemplateQuerySerializer(data=request.query_params)).get("category")
        items = TemplateSerializer(templates.template_list(category=category), many=True).data
        return _list_response(request, items)
