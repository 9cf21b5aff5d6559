"""``POST /agents/create-from-wizard`` (seed 004): one request creating an
agent and seeding its memory, rules, skills and tasks.  The body is validated
by ``agents.services.wizard``, whose serializer also describes it here."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticated

from accounts.actor import Actor
from accounts.permissions import WRITE, ActionRulePermission
from agents import services
from agents.inputs.wizard import WizardSerializer
from agents.services.wizard import agent_create_from_wizard
from core.envelope import data_response, enveloped


class WizardSeedCountsSerializer(serializers.Serializer):
    memory = serializers.IntegerField()
    rules = serializers.IntegerField()
    skills = serializers.IntegerField()
    tasks = serializers.IntegerField()


class WizardResultSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField(help_text="The agent's id (seed 004's name for it).")
    agent_id = serializers.UUIDField()
    slug = serializers.CharField()
    seed_counts = WizardSeedCountsSerializer()
    operating_prompt_id = serializers.CharField(allow_null=True)


class WizardViewSet(viewsets.ViewSet):
    """``POST /agents/create-from-wizard``: any authenticated caller with agents:write; they own the agent."""

    permission_classes = [IsAuthenticated, ActionRulePermission]
    rules = {"create": WRITE}

    @extend_schema(summary="Create an agent in one shot, seeding its memory, rules, skills and tasks",
                   description=("All or nothing: any invalid part answers 400 naming its path "
                                "(e.g. training.tasks[0].cron) and nothing is created. A name you already use "
                                "is 409 name_taken, as for POST /agents."),
                   request=WizardSerializer,
                   responses={201: OpenApiResponse(enveloped(WizardResultSerializer),
                                                   description="The ETag header is the new agent's.")})
    def create(self, request):
        result = agent_create_from_wizard(actor=Actor.from_request(request), data=request.data)
        agent = result.agent
        body = {"workflow_id": agent.pk, "agent_id": agent.pk, "slug": agent.slug, "seed_counts": result.seed_counts,
                "operating_prompt_id": agent.config.get("operating_prompt_id")}
        return data_response(WizardResultSerializer(body).data, status=http.HTTP_201_CREATED,
                             headers={"ETag": services.agent_etag(agent),
                                      "Location": reverse("agent-detail", kwargs={"agent": agent.pk})})
