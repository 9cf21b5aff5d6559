"""Routes for the portability endpoints (see the views module of the same name)."""

from django.urls import re_path

from agents.api import portability_views as views

urlpatterns = [
    re_path(r"^agents/templates/?$", views.TemplateViewSet.as_view({"get": "list"}), name="agent-templates"),
    re_path(r"^agents/export/?$", views.BundleExportViewSet.as_view({"post": "create"}), name="agent-bundle-export"),
    re_path(r"^agents/import/?$", views.ImportViewSet.as_view({"post": "create"}), name="agent-import"),
    re_path(r"^agents/(?P<agent>[^/]+)/export/?$", views.AgentExportViewSet.as_view({"get": "retrieve"}),
            name="agent-export"),
]
