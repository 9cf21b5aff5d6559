"""Reads for accounts."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.models import ApiToken


def token_list_for_user(*, user) -> QuerySet[ApiToken]:
    """``user``'s tokens, newest first."""
    return ApiToken.objects.filter(user=user)


def user_find(*, email: str | None = None, user_id=None, username: str | None = None):
    """An active user by id, email (case-insensitive) or username, or ``None``."""
    users = get_user_model().objects.filter(is_active=True)
    if user_id is not None:
        return users.filter(pk=user_id).first()
    if email:
        return users.filter(email__iexact=email).first()
    if username:
        # An exact username wins over another user's email that happens to match.
        return users.filter(username=username).first() or users.filter(email__iexact=username).first()
    return None
