from django.urls import re_path

from accounts.api.me import MeView
from accounts.api.tokens import TokenViewSet

tokens = TokenViewSet.as_view
urlpatterns = [
    re_path(r"^auth/tokens/?$", tokens({"get": "list", "post": "create"}), name="token-list"),
    re_path(r"^auth/tokens/(?P<token>[^/]+)/?$", tokens({"delete": "destroy"}), name="token-detail"),
    re_path(r"^auth/me/?$", MeView.as_view(), name="auth-me"),
]
