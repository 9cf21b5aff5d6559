"""The audit tab: who, what, the diff, when, token and IP; filter by action; cursor pages (test client)."""

import pytest

from accounts.actor import Actor
from accounts.services import token_create
from agents.models import AuditLogEntry
from agents.services import agent_update
from agents.services.versions import version_save
from tests.agents.web.lifecycle import assert_page_access, client_for, field_errors, soup

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, "Audited", config={"instructions": "first"})


def url(agent):
    return f"/agents/{agent.slug}/audit/"


def rows(response):
    return [{"action": tr["data-action"], "cells": [td.get_text(" ", strip=True) for td in tr.find_all("td",
                                                                                                      recursive=False)]}
            for tr in soup(response).select("main > section table > tbody > tr[data-action]")]


def test_audit_page_opens_for_members_only(agent, owner, make_user, add_member):
    viewer, stranger = make_user("viewer"), make_user("stranger")
    add_member(agent, viewer, "viewer")
    assert_page_access(url(agent), allowed=[owner, viewer], refused_404=[stranger])


def test_entries_show_who_what_the_diff_when_token_and_ip(agent, owner):
    token, _raw = token_create(user=owner, name="CI deploy", scopes=["agents:write"])
    agent_update(agent=agent, actor=Actor(user=owner, token=token, ip="192.0.2.44"),
                 changes={"config": {"instructions": "second"}})
    response = client_for(owner).get(url(agent))
    assert response.status_code == 200
    newest, created = rows(response)
    assert (newest["action"], created["action"]) == ("agent.updated", "agent.created")
    when, who, changes, via, ip = newest["cells"]
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="agent.updated")
    assert when == entry.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert (who, via, ip) == ("owner@example.com", f"CI deploy {token.prefix}…", "192.0.2.44")
    assert changes.startswith("1 change")
    diff = soup(response).select_one("tr[data-action='agent.updated'] .changes-table tbody tr")
    assert [c.get_text(strip=True) for c in diff.find_all(["th", "td"])] == [
        "config.instructions", '"first"', '"second"']
    assert created["cells"][3] == "no token (session)"


def test_filter_by_action(agent, owner):
    version_save(agent=agent, actor=Actor(user=owner), changelog="one")
    response = client_for(owner).get(url(agent), {"action": "version.saved"})
    assert [row["action"] for row in rows(response)] == ["version.saved"]
    assert soup(response).find("select", attrs={"name": "action"}).find("option", selected=True)["value"] == (
        "version.saved")


def test_an_unknown_action_is_an_error_beside_the_filter(agent, owner):
    response = client_for(owner).get(url(agent), {"action": "agent.exploded"})
    assert response.status_code == 200
    assert field_errors(response, "action") == [
        "Select a valid choice. agent.exploded is not one of the available choices."]
    assert [row["action"] for row in rows(response)] == ["agent.created"]  # unfiltered


def test_pages_follow_cursors_and_keep_the_filter(agent, owner):
    for n in range(5):
        version_save(agent=agent, actor=Actor(user=owner), changelog=f"v{n}")
    client = client_for(owner)
    first = client.get(url(agent), {"action": "version.saved", "limit": 2})
    seen = [row["cells"] for row in rows(first)]
    next_link = soup(first).find("a", rel="next")["href"]
    assert "action=version.saved" in next_link and "cursor=" in next_link
    second = client.get(next_link)
    third = client.get(soup(second).find("a", rel="next")["href"])
    assert soup(third).find("a", rel="next") is None
    seen += [row["cells"] for row in rows(second)] + [row["cells"] for row in rows(third)]
    entries = AuditLogEntry.objects.filter(agent_ref=agent.pk, action="version.saved")
    assert len(seen) == entries.count() == 5
    assert "5 in all" in soup(first).find("nav", attrs={"aria-label": "Audit log pages"}).get_text()


def test_a_malformed_cursor_is_a_400_page(agent, owner):
    response = client_for(owner).get(url(agent), {"cursor": "garbage"})
    assert response.status_code == 400
    assert "Invalid cursor" in response.content.decode()


def test_list_costs_the_same_queries_for_one_or_many_entries(agent, owner, django_assert_num_queries):
    client = client_for(owner)
    client.get(url(agent))
    with django_assert_num_queries(5):
        client.get(url(agent))
    token, _raw = token_create(user=owner, name="ci", scopes=["agents:write"])
    for n in range(6):
        version_save(agent=agent, actor=Actor(user=owner, token=token if n % 2 else None), changelog=str(n))
    with django_assert_num_queries(5):
        page = client.get(url(agent))
    assert len(rows(page)) == 7
