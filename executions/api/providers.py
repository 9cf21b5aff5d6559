"""``/providers``: installation-wide LLM credentials (API.md §3).  Anyone
with ``agents:read`` may read them; writes and tests need ``agents:write``
and a staff user.  The API key is write-only.  The services validate the
bodies with ``agents.inputs.providers``, which the schema shows too; the
serializers here render providers and test results."""

import functools

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from accounts.actor import Actor
from accounts.permissions import READ, WRITE, ActionRulePermission
from agents.inputs.providers import MODEL_NAME_MAX, ProviderModelSerializer, ProviderWriteSerializer
from agents.models import Provider, ProviderKind
from agents.providers import provider_get, provider_list
from agents.services.providers import provider_create, provider_delete, provider_update, require_staff
from core.awaiting import Awaiting
from core.envelope import data_response, enveloped
from core.validation import validated
from executions.api.filters import ProviderFilter
from executions.services.providers import provider_test


class ProviderSerializer(serializers.Serializer):
    """A provider as every caller sees it: never its API key."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    base_url = serializers.CharField(help_text="Empty: the SDK's default endpoint.")
    has_api_key = serializers.BooleanField()
    models = ProviderModelSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProviderTestSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=MODEL_NAME_MAX, required=False,
                                  help_text="Defaults to the provider's first listed model.")


class UsageSerializer(serializers.Serializer):
    prompt = serializers.IntegerField()
    completion = serializers.IntegerField()


class ProviderTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    model = serializers.CharField()
    latency_ms = serializers.IntegerField()
    output = serializers.CharField(help_text="What the model answered (first 1000 characters).")
    usage = UsageSerializer()


PROVIDER_PATH = OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH,
                                 description="The provider's UUID or name.")
NO_CONTENT = OpenApiResponse(description="Deleted; no body.")
PROVIDER_FAILED = OpenApiResponse(description="The provider failed or could not be reached: problem+json with "
                                              "code provider_error and the provider's HTTP status in detail.")


class StaffForWrites(BasePermission):
    """Reads are for every authenticated caller; anything else needs staff."""

    def has_permission(self, request, view):
        if view.action not in view.read_actions:
            require_staff(request.user)
        return True


@extend_schema_view(
    list=extend_schema(summary="List LLM providers (never their API keys)", responses=ProviderSerializer(many=True)),
    create=extend_schema(summary="Add an LLM provider (staff)", request=ProviderWriteSerializer,
                         responses={201: enveloped(ProviderSerializer)}),
    retrieve=extend_schema(summary="Get an LLM provider", parameters=[PROVIDER_PATH],
                           responses=enveloped(ProviderSerializer)),
    partial_update=extend_schema(summary="Change some of a provider's fields (staff)", parameters=[PROVIDER_PATH],
                                 request=ProviderWriteSerializer, responses=enveloped(ProviderSerializer)),
    destroy=extend_schema(summary="Delete an LLM provider (staff)", parameters=[PROVIDER_PATH],
                          responses={204: NO_CONTENT}),
)
class ProviderViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionRulePermission, StaffForWrites]
    serializer_class = ProviderSerializer
    filterset_class = ProviderFilter
    queryset = Provider.objects.none()  # for the schema; requests use get_queryset
    lookup_url_kwarg = "provider"
    sort_fields = ("name", "created_at")
    default_sort = "name"
    read_actions = ("list", "retrieve", "metadata")
    rules = {"list": READ, "retrieve": READ, "create": WRITE, "partial_update": WRITE, "destroy": WRITE,
             "test": WRITE}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return provider_list()

    def get_object(self):
        return provider_get(self.kwargs[self.lookup_url_kwarg])

    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ProviderSerializer(page, many=True).data)

    def create(self, request):
        provider = provider_create(actor=self.actor(), data=request.data)
        return data_response(ProviderSerializer(provider).data, status=http.HTTP_201_CREATED)

    def retrieve(self, request, provider=None):
        return data_response(ProviderSerializer(self.get_object()).data)

    def partial_update(self, request, provider=None):
        updated = provider_update(actor=self.actor(), provider=self.get_object(), data=request.data)
        return data_response(ProviderSerializer(updated).data)

    def destroy(self, request, provider=None):
        provider_delete(actor=self.actor(), provider=self.get_object())
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Send a one-line prompt through the provider (staff)", parameters=[PROVIDER_PATH],
                   request=ProviderTestSerializer,
                   responses={200: enveloped(ProviderTestResultSerializer), 502: PROVIDER_FAILED})
    def test(self, request, provider=None):
        body = validated(ProviderTestSerializer(data=request.data))
        test = functools.partial(provider_test, provider=self.get_object(), model=body.get("model"))
        # The provider's answer is awaited on the event loop, not on this thread (core.awaiting).
        return Awaiting.drf(self, request, test,
                            lambda result: data_response(ProviderTestResultSerializer(result).data))
