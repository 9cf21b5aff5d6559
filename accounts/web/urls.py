from django.urls import path

from accounts.web import auth, tokens

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password-change"),
    path("tokens/", tokens.TokensView.as_view(), name="tokens"),
    path("tokens/<uuid:token>/revoke/", tokens.TokenRevokeView.as_view(), name="token-revoke"),
]
