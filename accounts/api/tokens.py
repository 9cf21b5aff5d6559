"""``/auth/tokens``: the caller's API tokens (API.md §2).  A raw token is
shown once, at creation; only its hash is stored."""

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts import selectors, services
from accounts.actor import Actor
from accounts.inputs import TokenCreateSerializer
from accounts.models import ApiToken, Scope
from core.envelope import data_response, enveloped
from core.errors import NotFound
from core.validation import validated


class TokenSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise it.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The raw token. Shown this once; store it now.")


@extend_schema_view(
    list=extend_schema(summary="Your API tokens (never their values)", responses=TokenSerializer(many=True)),
    create=extend_schema(summary="Create an API token; its value is shown once", request=TokenCreateSerializer,
                         responses={201: enveloped(TokenCreatedSerializer)}),
    destroy=extend_schema(summary="Revoke one of your tokens", responses={204: OpenApiResponse(description="Revoked")}),
)
class TokenViewSet(viewsets.GenericViewSet):
    """Any authenticated caller manages their own tokens; a token can only
    create tokens with scopes it holds itself."""

    permission_classes = [IsAuthenticated]
    serializer_class = TokenSerializer
    queryset = ApiToken.objects.none()  # for the schema
    lookup_url_kwarg = "token"
    sort_fields = ("created_at", "name")
    default_sort = "-created_at"

    def list(self, request):
        page = self.paginate_queryset(selectors.token_list_for_user(user=request.user))
        for token in page:  # the caller's token shows this request's use, written once the response is sent
            if isinstance(request.auth, ApiToken) and token.pk == request.auth.pk:
                token.last_used_at = request.auth.last_used_at
        return self.get_paginated_response(TokenSerializer(page, many=True).data)

    def create(self, request):
        fields = validated(TokenCreateSerializer(data=request.data))
        token, raw = services.token_create(user=request.user, created_with=Actor.from_request(request).token,
                                           **fields)
        data = TokenSerializer(token).data | {"token": raw}
        return data_response(data, status=http.HTTP_201_CREATED)

    def destroy(self, request, token=None):
        try:
            token_id = uuid.UUID(str(token))
        except ValueError:
            raise NotFound("No such token.")
        services.token_delete(user=request.user, token_id=token_id)
        return Response(status=http.HTTP_204_NO_CONTENT)
