"""``manage.py seed_demo``: what ``make run`` prints and loads."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken
from agents.models import Agent, AuditLogEntry


def _seed_output() -> list[str]:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue().strip().splitlines()


def _seed() -> str:
    return _seed_output()[-1]


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


@pytest.mark.django_db
def test_seed_prints_the_console_url_and_login(settings):
    settings.PORT = 8123
    lines = _seed_output()
    assert lines[0] == "Console: http://127.0.0.1:8123/  log in as demo / demo-password"
    assert lines[1] == "Admin:   http://127.0.0.1:8123/admin/  (the demo user is a superuser)"
    assert lines[-1].startswith("agt_")


@pytest.mark.django_db
def test_the_demo_login_opens_the_console_with_the_demo_agents():
    _seed()
    client = Client()
    response = client.post("/login/", {"username": "demo", "password": "demo-password"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    html = response.content.decode()
    assert ">Dashboard</h1>" in html
    assert client.get("/agents/support-bot/").status_code == 200
    assert 'href="/providers/"' in html  # staff see the providers page


@pytest.mark.django_db
def test_the_demo_login_can_use_the_whole_admin():
    _seed()
    client = Client()
    assert client.login(username="demo", password="demo-password")
    index = client.get("/admin/").content.decode()
    assert "You don’t have permission to view or edit anything" not in index
    assert "You don't have permission to view or edit anything" not in index
    for changelist in ("/admin/agents/agent/", "/admin/agents/provider/", "/admin/accounts/user/",
                       "/admin/accounts/apitoken/"):
        assert client.get(changelist).status_code == 200, changelist
    assert "Support Bot" in client.get("/admin/agents/agent/").content.decode()


@pytest.mark.django_db
def test_seeding_again_makes_an_older_demo_user_a_superuser_and_keeps_its_password():
    # given a demo user from an older seed (staff only) whose password was changed
    get_user_model().objects.create_user("demo", "demo@example.com", "changed-it-123", is_staff=True)

    lines = _seed_output()

    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser and user.is_staff
    assert user.check_password("changed-it-123")
    assert lines[0].endswith("log in as demo / the password you set (seed_demo keeps it)")
