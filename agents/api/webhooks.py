"""The admin side of an agent's webhook: ``/agents/{agent}/webhook`` (read
the URL, disable it) and ``/agents/{agent}/webhook/rotate``.  The public
trigger the URL points at starts runs, so it is served by the executions app
(``executions.api.webhooks``)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import Rule
from accounts.roles import Role
from agents import selectors
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, agent_rule
from agents.models import Schedule
from agents.services import webhooks
from core.envelope import data_response, enveloped

WRITE = agent_rule(Role.ADMIN)


class WebhookSerializer(serializers.Serializer):
    url = serializers.URLField(allow_null=True, help_text="POST here to start a run; null while disabled.")
    secret = serializers.CharField(allow_null=True, help_text="The secret in the URL; null while disabled.")
    enabled = serializers.BooleanField()


def _webhook_response(request, agent, webhook: selectors.Webhook):
    url = None
    if webhook.secret:  # the public trigger, routed in executions.api.urls
        path = reverse("webhook-trigger", kwargs={"agent": agent.pk, "secret": webhook.secret})
        url = request.build_absolute_uri(path)
    return data_response(WebhookSerializer({"url": url, "secret": webhook.secret, "enabled": webhook.enabled}).data)


WEBHOOK_NOTE = ("Reading the URL needs the admin role and, like rotating it, the agents:write scope: the URL "
                "starts runs without any other credential.")


@extend_schema_view(
    retrieve=extend_schema(summary="Get the agent's webhook URL and secret", description=WEBHOOK_NOTE,
                           parameters=[AGENT_PATH], responses=enveloped(WebhookSerializer)),
    rotate=extend_schema(summary="Create the webhook or replace its secret (the old URL stops working)",
                         request=None, parameters=[AGENT_PATH], responses=enveloped(WebhookSerializer)),
    destroy=extend_schema(summary="Disable the webhook (404 when it is not enabled)", parameters=[AGENT_PATH],
                          responses={204: NO_CONTENT}),
)
class WebhookViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/webhook`` and ``/agents/{agent}/webhook/rotate``."""

    serializer_class = WebhookSerializer
    queryset = Schedule.objects.none()  # for the schema
    agent_representation = False
    rules = {"retrieve": Rule(Scope.AGENTS_WRITE, Role.ADMIN), "rotate": WRITE, "destroy": WRITE}

    def retrieve(self, request, agent=None):
        agent = self.get_agent()
        return _webhook_response(request, agent, selectors.webhook_get(agent))

    @action(detail=False, methods=["post"])
    def rotate(self, request, agent=None):
        agent = self.get_agent()
        return _webhook_response(request, agent, webhooks.webhook_rotate(agent=agent, actor=self.actor()))

    def destroy(self, request, agent=None):
        webhooks.webhook_disable(agent=self.get_agent(), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)
