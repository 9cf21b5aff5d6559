"""Who is acting: the user, the token they used (if any) and where from.
Services take an ``Actor`` so the audit log can say who changed what."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings

from accounts.models import ApiToken, Scope


def client_ip(request) -> str | None:
    """The caller's address.  Behind ``AGENTRY_TRUSTED_PROXY_HOPS`` proxies
    (load balancers that append to ``X-Forwarded-For``), it is the entry that
    many hops from the right; entries further left are the client's own claims
    and are never trusted."""
    candidate = request.META.get("REMOTE_ADDR")
    hops = settings.AGENTRY_TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if hops > 0 and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            candidate = entries[-hops] if len(entries) >= hops else entries[0]
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Actor:
    user: object
    token: ApiToken | None = None
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request) -> "Actor":
        """From a DRF request (its token, if any) or a plain Django one (the admin)."""
        auth = getattr(request, "auth", None)
        token = auth if isinstance(auth, ApiToken) else None
        return cls(
            user=request.user,
            token=token,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
        )

    @property
    def scopes(self) -> frozenset[str]:
        """Scopes this actor may use: a token's own, or all of them for a session."""
        if self.token is None:
            return frozenset(Scope.values)
        return frozenset(self.token.scopes)
