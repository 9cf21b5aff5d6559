"""The knowledge base's routes, relative to ``agents/{agent}/`` (``config.urls``);
``search`` comes before ``{doc}``, which would take it."""

from django.urls import re_path

from core.awaiting import awaits_on_loop
from executions.knowledge.api.documents import KnowledgeSearchViewSet, KnowledgeViewSet

knowledge = KnowledgeViewSet.as_view

agent_urlpatterns = [
    re_path(r"^knowledge/?$", knowledge({"get": "list", "post": "create"}), name="agent-knowledge-list"),
    re_path(r"^knowledge/search/?$", awaits_on_loop(KnowledgeSearchViewSet.as_view({"post": "search"})),
            name="agent-knowledge-search"),
    re_path(r"^knowledge/(?P<doc>[^/]+)/?$", knowledge({"get": "retrieve", "delete": "destroy"}),
            name="agent-knowledge-detail"),
]
