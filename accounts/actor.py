"""Who is acting: the user, the token they used (if any) and where from.
Services take an ``Actor`` so the audit log can say who changed what."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import ApiToken, Scope


@dataclass(frozen=True)
class Actor:
    user: object
    token: ApiToken | None = None
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request) -> "Actor":
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return cls(
            user=request.user,
            token=token,
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", "")[:300],
        )

    @property
    def scopes(self) -> frozenset[str]:
        """Scopes this actor may use: a token's own, or all of them for a session."""
        if self.token is None:
            return frozenset(Scope.values)
        return frozenset(self.token.scopes)
