"""API token authentication in the three equivalent forms of API.md §2:
``Authorization: Bearer <t>``, ``Authorization: Token <t>``, ``X-API-Key: <t>``."""

from __future__ import annotations

from functools import partial

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.services import token_authenticate, token_touch, token_touch_due
from core.middleware import run_after_response


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        raw = self._raw_token(request)
        if raw is None:
            return None
        token = token_authenticate(raw=raw, touch=False)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        now = timezone.now()
        if token_touch_due(token, now=now):
            # The write waits until the response is sent; this request already reports the use.
            run_after_response(request, partial(token_touch, token_id=token.pk, now=now))
            token.last_used_at = now
        return token.user, token

    def _raw_token(self, request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            keyword, _, value = header.partition(" ")
            if keyword.lower() in self.keywords:
                value = value.strip()
                if not value or " " in value:
                    raise exceptions.AuthenticationFailed("Malformed Authorization header.")
                return value
        api_key = request.META.get("HTTP_X_API_KEY")
        if api_key is not None:
            api_key = api_key.strip()
            if not api_key:
                raise exceptions.AuthenticationFailed("Empty X-API-Key header.")
            return api_key
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
