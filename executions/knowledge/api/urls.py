"""The knowledge base's routes; ``search`` comes before ``{doc}``, which would take it."""

from django.urls import re_path

from core.awaiting import awaits_on_loop
from executions.knowledge.api.documents import KnowledgeSearchViewSet, KnowledgeViewSet

AGENT = r"^agents/(?P<agent>[^/]+)"
knowledge = KnowledgeViewSet.as_view

urlpatterns = [
    re_path(AGENT + r"/knowledge/?$", knowledge({"get": "list", "post": "create"}), name="agent-knowledge-list"),
    re_path(AGENT + r"/knowledge/search/?$", awaits_on_loop(KnowledgeSearchViewSet.as_view({"post": "search"})),
            name="agent-knowledge-search"),
    re_path(AGENT + r"/knowledge/(?P<doc>[^/]+)/?$", knowledge({"get": "retrieve", "delete": "destroy"}),
            name="agent-knowledge-detail"),
]
