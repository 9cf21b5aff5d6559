"""Who a WebSocket is: the same credentials as HTTP (API.md §2), read from
the handshake.  An API token in ``Authorization`` (Bearer/Token) or
``X-API-Key`` — or, since browsers cannot set headers on a WebSocket, in the
``token`` query parameter — else the Django session cookie.

The scope gets ``user`` (``AnonymousUser`` when nothing valid was sent) and
``auth`` (the ``ApiToken`` or None); consumers decide what to refuse.  A
session is only trusted from a page of one of ``ALLOWED_HOSTS`` (the
``Origin`` header), as Django's CSRF check trusts a form."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host

from accounts.services import token_authenticate

TOKEN_KEYWORDS = (b"bearer", b"token")


def raw_token(scope) -> str | None:
    headers = dict(scope.get("headers") or ())
    authorization = headers.get(b"authorization", b"")
    if authorization:
        keyword, _, value = authorization.partition(b" ")
        if keyword.lower() in TOKEN_KEYWORDS and value.strip():
            return value.strip().decode("latin-1")
    if headers.get(b"x-api-key", b"").strip():
        return headers[b"x-api-key"].strip().decode("latin-1")
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    return None


class TokenAuthMiddleware:
    """Sets ``scope["user"]``/``scope["auth"]`` from a token when one is sent
    (a bad one leaves the socket anonymous, refused with 4401)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        raw = raw_token(scope)
        scope = dict(scope)
        scope["auth"] = None
        if raw is not None:
            token = await database_sync_to_async(token_authenticate)(raw=raw)
            scope["user"] = token.user if token is not None else AnonymousUser()
            scope["auth"] = token
        elif not _same_site(scope):
            # A page on another site opened the socket with this browser's
            # cookie (cross-site WebSocket hijacking): not authenticated.
            scope["user"] = AnonymousUser()
        return await self.inner(scope, receive, send)


def _same_site(scope) -> bool:
    """Whether a cookie-authenticated socket comes from one of our hosts (or
    from a client that sends no Origin: not a browser page)."""
    origin = dict(scope.get("headers") or ()).get(b"origin")
    if origin is None:
        return True
    host = urlparse(origin.decode("latin-1")).hostname or ""
    return validate_host(host, settings.ALLOWED_HOSTS)


def WebSocketAuthStack(inner):  # noqa: N802 - named like Channels' AuthMiddlewareStack
    """Session auth (cookies) underneath, a token on top when one is sent."""
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
