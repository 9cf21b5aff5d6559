"""Routes for versions and runtime (API.md §7)."""

from django.urls import re_path

from agents.api.lifecycle_views import RuntimeViewSet, VersionViewSet

AGENT = r"^agents/(?P<agent>[^/]+)"
versions = VersionViewSet.as_view
runtime = RuntimeViewSet.as_view

urlpatterns = [
    re_path(AGENT + r"/versions/?$", versions({"get": "list", "post": "create"}), name="agent-version-list"),
    re_path(AGENT + r"/versions/(?P<index>[^/]+)/?$", versions({"get": "retrieve"}), name="agent-version-detail"),
    re_path(AGENT + r"/versions/(?P<a>[^/]+)/diff/(?P<b>[^/]+)/?$", versions({"get": "diff"}),
            name="agent-version-diff"),
    re_path(AGENT + r"/versions/(?P<index>[^/]+)/rollback/?$", versions({"post": "rollback"}),
            name="agent-version-rollback"),
    re_path(AGENT + r"/status/?$", runtime({"get": "status"}), name="agent-runtime-status"),
    re_path(AGENT + r"/start/?$", runtime({"post": "start"}), name="agent-runtime-start"),
    re_path(AGENT + r"/stop/?$", runtime({"post": "stop"}), name="agent-runtime-stop"),
    re_path(AGENT + r"/redeploy/?$", runtime({"post": "redeploy"}), name="agent-runtime-redeploy"),
]
