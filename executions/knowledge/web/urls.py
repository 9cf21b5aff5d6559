"""The knowledge tab (``console:agent-knowledge``) and the partials and
actions it uses."""

from django.urls import path

from core.awaiting import awaits_on_loop
from executions.knowledge.web import documents

KNOWLEDGE = "agents/<str:ref>/knowledge/"

urlpatterns = [
    path(KNOWLEDGE, awaits_on_loop(documents.KnowledgeView.as_view()), name="agent-knowledge"),
    path(KNOWLEDGE + "status/", documents.KnowledgeStatusView.as_view(), name="knowledge-status"),
    path(KNOWLEDGE + "search/", awaits_on_loop(documents.KnowledgeSearchView.as_view()), name="knowledge-search"),
    path(KNOWLEDGE + "<str:doc>/delete/", documents.DocumentDeleteView.as_view(), name="knowledge-document-delete"),
]
