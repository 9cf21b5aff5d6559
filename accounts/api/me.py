"""``GET /auth/me``: who the caller is and how they authenticated (API.md §2)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.actor import Actor
from core.datetimes import api_datetime
from core.envelope import data_response, enveloped


class TokenAuthSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    """The fields declare the body for the OpenAPI schema; to_representation
    builds it by hand: binding and calling a DRF field per value was half of
    what this endpoint's view took (docs/PERFORMANCE.md)."""

    id = serializers.UUIDField()
    username = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    auth_method = serializers.ChoiceField(choices=["token", "session"])
    scopes = serializers.ListField(child=serializers.CharField())
    token = TokenAuthSerializer(allow_null=True)

    def to_representation(self, me: dict) -> dict:
        token = me["token"]
        return {
            "id": str(me["id"]), "username": me["username"], "email": me["email"], "is_staff": me["is_staff"],
            "auth_method": me["auth_method"], "scopes": list(me["scopes"]),
            "token": None if token is None else {"id": str(token.pk), "name": token.name,
                                                 "scopes": list(token.scopes),
                                                 "expires_at": api_datetime(token.expires_at)},
        }


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Who you are and how you authenticated", responses=enveloped(MeSerializer))
    def get(self, request):
        actor = Actor.from_request(request)
        user = request.user
        data = {
            "id": user.pk, "username": user.username, "email": user.email, "is_staff": user.is_staff,
            "auth_method": "token" if actor.token else "session",
            "scopes": sorted(actor.scopes),
            "token": actor.token,
        }
        return data_response(MeSerializer(data).data)
