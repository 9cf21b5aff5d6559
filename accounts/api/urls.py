from django.urls import re_path

from accounts.api import views

tokens = views.TokenViewSet.as_view
urlpatterns = [
    re_path(r"^auth/tokens/?$", tokens({"get": "list", "post": "create"}), name="token-list"),
    re_path(r"^auth/tokens/(?P<token>[^/]+)/?$", tokens({"delete": "destroy"}), name="token-detail"),
    re_path(r"^auth/me/?$", views.MeView.as_view(), name="auth-me"),
]
