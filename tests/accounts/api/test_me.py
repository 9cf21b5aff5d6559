"""``GET /api/v1/auth/me`` (API.md §2)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.api.me import MeSerializer
from accounts.models import ApiToken, Scope
from tests.conftest import problem, session

ME = "/api/v1/auth/me"
ME_KEYS = {"id", "username", "email", "is_staff", "auth_method", "scopes", "token"}


@pytest.mark.django_db
class TestMe:
    def test_token_caller(self, api, user):
        # when
        response = api(user, ["agents:run", "agents:read"]).get(ME)
        # then
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"data"}
        data = body["data"]
        assert set(data) == ME_KEYS
        token = ApiToken.objects.get(user=user)
        assert data == {
            "id": str(user.pk), "username": "alice", "email": "alice@example.com", "is_staff": False,
            "auth_method": "token", "scopes": ["agents:read", "agents:run"],
            "token": {"id": str(token.pk), "name": "test", "scopes": data["token"]["scopes"], "expires_at": None},
        }
        assert sorted(data["token"]["scopes"]) == ["agents:read", "agents:run"]

    def test_token_expiry_is_reported(self, user, make_token):
        expires = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
        raw = make_token(user, ["agents:read"], name="ci", expires_at=expires)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        token = client.get(ME).json()["data"]["token"]
        assert token["name"] == "ci"
        assert token["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")

    def test_session_caller(self, user):
        data = session(user).get(ME).json()["data"]
        assert data == {
            "id": str(user.pk), "username": "alice", "email": "alice@example.com", "is_staff": False,
            "auth_method": "session", "scopes": sorted(Scope.values), "token": None,
        }

    def test_staff_flag(self, api, make_user):
        staff = make_user("root", is_staff=True)
        assert api(staff).get(ME).json()["data"]["is_staff"] is True

    def test_trailing_slash_is_tolerated(self, api, user):
        assert api(user).get(ME + "/").status_code == 200

    def test_anonymous_is_401(self, api):
        response = api().get(ME)
        problem(response, 401, "not_authenticated")
        assert "WWW-Authenticate" in response

    def test_post_is_405(self, api, user):
        response = api(user).post(ME, {})
        assert response.status_code == 405
        assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_the_hand_built_body_is_what_its_declared_fields_write(user, make_token):
    """MeSerializer builds its body by hand; DRF's own field-by-field rendering of the same data agrees."""
    make_token(user, ["agents:read", "agents:run"], name="ci", expires_at=timezone.now() + timedelta(days=2))
    token = ApiToken.objects.get(user=user)
    for me in ({"id": user.pk, "username": user.username, "email": user.email, "is_staff": True,
                "auth_method": "token", "scopes": ["agents:read", "agents:run"], "token": token},
               {"id": user.pk, "username": user.username, "email": user.email, "is_staff": False,
                "auth_method": "session", "scopes": sorted(Scope.values), "token": None}):
        assert MeSerializer(me).data == serializers.Serializer.to_representation(MeSerializer(), me)
