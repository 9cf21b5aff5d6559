"""``manage.py seed_demo``: what ``make run`` prints and loads."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken
from agents.models import Agent, AuditLogEntry


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue().strip().splitlines()[-1]


@pytest.mark.django_db
def test_seed_prints_a_working_token_and_loads_demo_agents():
    raw = _seed()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = client.get("/api/v1/agents").json()
    assert sorted(a["slug"] for a in body["data"]) == ["default", "summarizer", "support-bot"]
    support = next(a for a in body["data"] if a["slug"] == "support-bot")
    assert [n["type"] for n in support["pipeline"]["nodes"]] == ["input", "llm_call", "output"]
    assert AuditLogEntry.objects.filter(action="agent.created").count() == 3


@pytest.mark.django_db
def test_seeding_again_revokes_the_previous_demo_token_and_adds_no_agents():
    first = _seed()
    second = _seed()
    assert first != second
    assert ApiToken.objects.filter(name="demo").count() == 1
    assert Agent.objects.count() == 3
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
    assert client.get("/api/v1/auth/me").status_code == 401
