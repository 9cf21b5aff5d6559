"""``POST /hooks/{agent}/{secret}``: the public webhook trigger, which queues a
run with ``trigger=webhook``.  Starting runs is this app's job; the webhook's
secret and its admin endpoints are the agents app's (``agents.api.webhooks``)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from agents.selectors import webhook_agent
from core.envelope import enveloped
from core.errors import ValidationFailed
from executions.api.runs import CORRELATION_ID, IDEMPOTENCY_KEY, QueuedRunSerializer, queued_run_response, run_headers
from executions.services import triggers

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}  # added by core.schema


def hook_instance() -> str:
    """The instance every webhook problem names: the hooks path without agent or secret."""
    return reverse("webhook-trigger-no-secret", kwargs={"agent": "-"}).rpartition("/")[0]


def _problems(descriptions: dict[int, str]) -> dict:
    return {(status, "application/problem+json"): OpenApiResponse(PROBLEM_REF, description=text)
            for status, text in descriptions.items()}


class HookView(APIView):
    """``POST /hooks/{agent}/{secret}``: the public trigger.  No credentials
    but the secret; every error names the same instance, so neither the secret
    nor whether the agent exists shows in a response."""

    authentication_classes = []  # no session, so no CSRF either
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Start a run from a webhook (async, trigger webhook)", auth=[], request=OpenApiTypes.OBJECT,
        description="The JSON body (an object) becomes the run's input. Wrong secret, disabled webhook and "
                    "unknown agent all answer the same 404. At most AGENTRY_WEBHOOK_RATE_PER_MINUTE runs per "
                    "agent per rolling minute; past that 429 rate_limited with Retry-After.",
        parameters=[OpenApiParameter("agent", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="The agent's UUID or slug."),
                    OpenApiParameter("secret", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="The webhook secret."),
                    IDEMPOTENCY_KEY, CORRELATION_ID],
        responses={202: enveloped(QueuedRunSerializer),
                   **_problems({409: "agent_not_active, or idempotency_conflict while the first run is going.",
                                422: "idempotency_key_reused: the key came with another body.",
                                429: "rate_limited; Retry-After says when to try again.",
                                503: "The task queue is unavailable."})})
    def post(self, request, agent, secret=""):
        target = webhook_agent(ref=agent, secret=secret)
        body = request.data
        if not isinstance(body, dict):
            raise ValidationFailed("The body must be a JSON object.", errors={"body": ["Must be a JSON object."]})
        key, correlation = run_headers(request)
        execution, created = triggers.webhook_trigger(agent=target, body=body, idempotency_key=key,
                                                      correlation_id=correlation)
        return queued_run_response(request, execution, created=created, correlation=correlation)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "instance" in response.data:
            response.data["instance"] = hook_instance()
        return response


@extend_schema_view(post=extend_schema(exclude=True))
class HookWithoutSecretView(HookView):
    """``POST /hooks/{agent}``: no secret, so the same 404 as a wrong one."""

    def post(self, request, agent):
        return super().post(request, agent, "")
