"""``GET /auth/me``: who the caller is and how they authenticated (API.md §2)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.actor import Actor
from core.envelope import data_response, enveloped


class TokenAuthSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    auth_method = serializers.ChoiceField(choices=["token", "session"])
    scopes = serializers.ListField(child=serializers.CharField())
    token = TokenAuthSerializer(allow_null=True)


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
