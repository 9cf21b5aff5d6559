"""Writes and rules for users' API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.inputs import TokenCreateSerializer
from accounts.models import ApiToken, Scope
from accounts.selectors import token_find
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


def token_authenticate(*, raw: str, touch: bool = True) -> ApiToken | None:
    """The live token for ``raw`` (not expired, user active), with its user,
    in one query on the unique ``key_hash`` index; ``None`` when it is not
    valid.  With ``touch``, a use due to be recorded (:func:`token_touch_due`)
    is written here; without, the caller writes it when convenient (the API
    does once its response is sent)."""
    token = token_find(key_hash=hash_token(raw))
    if token is None:
        return None
    now = timezone.now()
    if not token.user.is_active or (token.expires_at is not None and token.expires_at <= now):
        return None
    if touch and token_touch_due(token, now=now):
        token_touch(token_id=token.pk, now=now)
        token.last_used_at = now
    return token


def token_touch_due(token: ApiToken, *, now) -> bool:
    """Whether a use of ``token`` at ``now`` should be written: at most once
    per ``AGENTRY_TOKEN_TOUCH_SECONDS``, so a busy token costs no write per request."""
    stale = now - timedelta(seconds=settings.AGENTRY_TOKEN_TOUCH_SECONDS)
    return token.last_used_at is None or token.last_used_at < stale


def token_touch(*, token_id, now) -> None:
    """Record a use of the token at ``now``.  Conditional, so of concurrent
    requests that all found the last use stale only the first writes."""
    stale = now - timedelta(seconds=settings.AGENTRY_TOKEN_TOUCH_SECONDS)
    (ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token_id)
     .update(last_used_at=now))


def token_delete(*, user, token_id) -> None:
    """Revoke one of ``user``'s tokens; another user's is a 404."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound("No such token.")
