"""The webhook tab (admins): state, trigger URL, create/rotate shown once, disable (console, test client)."""

import pytest

from agents.models import Agent, AuditLogEntry
from agents.selectors import secret_hash, webhook_get
from tests.agents.web.lifecycle import assert_page_access, client_for, flashes, soup, status_for

pytestmark = pytest.mark.django_db


def url(agent, suffix=""):
    return f"/agents/{agent.slug}/webhooks/{suffix}"


def test_the_webhook_tab_is_for_admins(agent, owner, make_user, add_member):
    admin, stranger = make_user("admin"), make_user("stranger")
    add_member(agent, admin, "admin")
    assert_page_access(url(agent), allowed=[owner, admin], refused_404=[stranger])
    for role in ("operator", "viewer"):
        member = make_user(role)
        add_member(agent, member, role)
        assert status_for(member, url(agent)) == 403  # the URL alone starts runs
        tabs = [a.get_text(strip=True) for a in soup(client_for(member).get(f"/agents/{agent.slug}/versions/"))
                .select("nav.tabs a")]
        assert "Webhook" not in tabs and "Versions" in tabs


def test_without_a_webhook_the_page_offers_to_create_one(agent, owner):
    page = soup(client_for(owner).get(url(agent)))
    assert "not set up" in page.find(id="webhook-state").get_text()
    assert page.find(id="webhook-url") is None
    assert [b.get_text(strip=True) for b in page.select("main form button")] == ["Create webhook"]


def test_create_shows_the_new_url_once_with_a_copy_button_and_is_audited(agent, owner):
    response = client_for(owner).post(url(agent, "rotate/"))
    assert response.status_code == 200
    webhook = webhook_get(Agent.objects.get(pk=agent.pk))
    assert webhook.enabled
    page = soup(response)
    shown = page.find(id="webhook-url")["value"]
    assert shown == f"http://testserver/api/v1/hooks/{agent.pk}/{webhook.secret}"
    assert page.find("button", attrs={"data-copy": "webhook-url"}) is not None
    assert page.find(id="new-url-heading") is not None
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="webhook.rotated")
    assert entry.changes == {"webhook.enabled": {"old": False, "new": True},
                             "webhook.secret": {"old": None, "new": "(hidden)"}}
    assert webhook.secret not in str(entry.changes)
    # Afterwards the page shows the state, and the URL only on request (behind a disclosure).
    again = soup(client_for(owner).get(url(agent)))
    assert again.find(id="new-url-heading") is None
    assert again.find("details").find(id="webhook-url")["value"] == shown


def test_rotating_replaces_the_secret(agent, owner):
    client = client_for(owner)
    client.post(url(agent, "rotate/"))
    first = Agent.objects.get(pk=agent.pk).webhook_secret_hash
    page = soup(client.post(url(agent, "rotate/")))
    second = Agent.objects.get(pk=agent.pk)
    assert second.webhook_secret_hash != first
    assert secret_hash(page.find(id="webhook-url")["value"].rsplit("/", 1)[1]) == second.webhook_secret_hash
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="webhook.rotated").count() == 2


def test_disable_clears_the_secret_and_a_second_disable_is_a_flash(agent, owner):
    client = client_for(owner)
    client.post(url(agent, "rotate/"))
    response = client.post(url(agent, "disable/"), follow=True)
    assert flashes(response) == ["Webhook disabled: its URL no longer starts runs."]
    assert Agent.objects.get(pk=agent.pk).webhook_secret_hash == ""
    entry = AuditLogEntry.objects.filter(agent_ref=agent.pk, action="agent.updated").get()
    assert entry.changes == {"webhook.enabled": {"old": True, "new": False}}
    response = client.post(url(agent, "disable/"), follow=True)
    assert flashes(response) == ["This agent has no webhook."]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_cannot_rotate_or_disable(agent, owner, make_user, add_member, role):
    member = make_user(role)
    add_member(agent, member, role)
    client = client_for(member)
    assert client.post(url(agent, "rotate/")).status_code == 403
    assert client.post(url(agent, "disable/")).status_code == 403
    assert Agent.objects.get(pk=agent.pk).webhook_secret_hash == ""
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="webhook.rotated").exists()
