"""Routes for /providers."""

from django.urls import re_path

from executions.api.provider_views import ProviderViewSet

providers = ProviderViewSet.as_view
urlpatterns = [
    re_path(r"^providers/?$", providers({"get": "list", "post": "create"}), name="provider-list"),
    re_path(r"^providers/(?P<provider>[^/]+)/?$",
            providers({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}), name="provider-detail"),
    re_path(r"^providers/(?P<provider>[^/]+)/test/?$", providers({"post": "test"}), name="provider-test"),
]
