"""Writes and rules for users' API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.inputs import TokenCreateSerializer
from accounts.models import ApiToken, Scope
from core.errors import Forbidden, NotFound, ValidationFailed
from core.validation import validated

TOKEN_PREFIX = "agt_"


def hash_token(raw: str) -> str:
    """The stored form of a raw token."""
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user, name: str, scopes: list[str], expires_at=None,
                 created_with: ApiToken | None = None) -> tuple[ApiToken, str]:
    """Create a token and return it with its raw value, which is never stored.

    A token used to create another cannot hand out scopes it lacks, nor
    outlive itself: the new token expires no later than the one creating it.
    """
    clean = validated(TokenCreateSerializer(data={"name": name, "scopes": scopes, "expires_at": expires_at}))
    name, expires_at = clean["name"], clean.get("expires_at")
    scopes = [scope for scope in Scope.values if scope in set(clean["scopes"])]  # the catalogue's order, once each
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("expires_at must be in the future.", errors={"expires_at": ["Must be in the future."]})
    if created_with is not None:
        if not set(scopes) <= set(created_with.scopes):
            raise Forbidden("A token cannot create a token with scopes it does not have itself.")
        if created_with.expires_at is not None:
            if expires_at is None:
                expires_at = created_with.expires_at
            elif expires_at > created_with.expires_at:
                raise Forbidden("A token cannot create a token that expires after it does.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, scopes=scopes, expires_at=expires_at,
        key_hash=hash_token(raw), prefix=raw[: len(TOKEN_PREFIX) + 6],
    )
    return token, raw


def token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token for ``raw`` (not expired, user active), touching
    ``last_used_at`` at most once a minute; ``None`` when it is not valid."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
    now = timezone.now()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    stale = now - timedelta(seconds=settings.AGENTRY_TOKEN_TOUCH_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_delete(*, user, token_id) -> None:
    """Revoke one of ``user``'s tokens; another user's is a 404."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound("No such token.")
