"""Token rules tested on the services directly."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken
from accounts.selectors import token_find, user_find
from accounts.services import hash_token, token_create
from core.errors import Forbidden, ValidationFailed


@pytest.mark.django_db
class TestTokenCreate:
    def test_token_cannot_outlive_the_token_that_creates_it(self, user):
        parent, _ = token_create(user=user, name="p", scopes=["agents:read"],
                                 expires_at=timezone.now() + timedelta(days=1))
        child, _ = token_create(user=user, name="c", scopes=["agents:read"], created_with=parent)
        assert child.expires_at == parent.expires_at
        with pytest.raises(Forbidden):
            token_create(user=user, name="late", scopes=["agents:read"], created_with=parent,
                         expires_at=timezone.now() + timedelta(days=2))
        sooner = timezone.now() + timedelta(hours=1)
        assert token_create(user=user, name="s", scopes=["agents:read"], created_with=parent,
                            expires_at=sooner)[0].expires_at == sooner

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101])
    def test_name_is_1_to_100_characters(self, user, name):
        with pytest.raises(ValidationFailed) as exc:
            token_create(user=user, name=name, scopes=["agents:read"])
        assert "name" in exc.value.errors
        assert not ApiToken.objects.exists()

    def test_command_refuses_a_bad_name(self, user):
        with pytest.raises(CommandError):
            call_command("create_token", user=user.username, scopes="agents:read", name="x" * 101)


@pytest.mark.django_db
def test_exact_username_wins_over_another_users_email(make_user):
    by_email = make_user("someone", email="carol")  # an email that equals another's username
    carol = make_user("carol", email="carol@example.com")
    assert user_find(username="carol") == carol
    assert user_find(username="CAROL") == by_email


def test_token_find_reads_the_token_with_its_user_in_one_query(user, django_assert_num_queries):
    token, raw = token_create(user=user, name="one-read", scopes=["agents:read"])

    with django_assert_num_queries(1):
        found = token_find(key_hash=hash_token(raw))
        assert found.user.email == user.email  # no second query for the user

    assert found.pk == token.pk and found.user_id == user.pk and found.scopes == ["agents:read"]
    assert found.user.is_active is True and found.user.password == user.password
    assert token_find(key_hash=hash_token(raw + "x")) is None
