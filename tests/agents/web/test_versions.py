"""The versions tab: list, save, side-by-side diff, rollback (console, test client)."""

import pytest

from accounts.actor import Actor
from agents.models import AgentVersion, AuditLogEntry
from agents.services import agent_update
from agents.services.versions import version_save
from tests.agents.web.lifecycle import (
    assert_page_access,
    client_for,
    field_errors,
    flashes,
    soup,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, "Versioned", config={"instructions": "first"})


def url(agent, suffix=""):
    return f"/agents/{agent.slug}/versions/{suffix}"


def edit(agent, owner, instructions):
    return agent_update(agent=agent, actor=Actor(user=owner), changes={"config": {"instructions": instructions}})


def save(agent, owner, changelog=""):
    return version_save(agent=agent, actor=Actor(user=owner), changelog=changelog)


def test_versions_pages_open_for_members_only(agent, owner, make_user, add_member):
    viewer, stranger = make_user("viewer"), make_user("stranger")
    add_member(agent, viewer, "viewer")
    save(agent, owner)
    for page in (url(agent), url(agent, "diff/")):
        assert_page_access(page, allowed=[owner, viewer], refused_404=[stranger])


def test_save_version_goes_through_the_service_and_is_audited(agent, owner):
    response = client_for(owner).post(url(agent), {"changelog": "First cut"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert response["Location"] == url(agent)
    version = AgentVersion.objects.get(agent=agent)
    assert (version.index, version.changelog, version.author) == (1, "First cut", owner)
    assert version.config["instructions"] == "first"
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="version.saved")
    assert entry.changes["changelog"] == {"old": None, "new": "First cut"}
    assert (entry.actor, entry.ip, entry.token) == (owner, "203.0.113.9", None)
    # The next page shows the flash and the new row.
    page = client_for(owner).post(url(agent), {"changelog": ""}, follow=True)
    assert flashes(page) == ["Saved version 2."]
    assert [row.th.get_text(" ", strip=True) for row in soup(page).select("tbody tr")] == ["v2 same as draft",
                                                                                     "v1 same as draft"]


def test_too_long_changelog_is_the_services_error_beside_the_field(agent, owner):
    response = client_for(owner).post(url(agent), {"changelog": "x" * 1001})
    assert response.status_code == 200
    assert field_errors(response, "changelog") == ["At most 1000 characters of text."]
    assert not AgentVersion.objects.filter(agent=agent).exists()
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="version.saved").exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_cannot_save_or_roll_back(agent, owner, make_user, add_member, role):
    member = make_user(role)
    add_member(agent, member, role)
    save(agent, owner)
    edit(agent, owner, "second")
    client = client_for(member)
    assert client.post(url(agent), {"changelog": "sneaky"}).status_code == 403
    assert client.post(url(agent, "1/rollback/")).status_code == 403
    assert AgentVersion.objects.filter(agent=agent).count() == 1
    agent.refresh_from_db()
    assert agent.config["instructions"] == "second"
    page = soup(client.get(url(agent)))
    assert page.find("form", attrs={"method": "post", "class": "card"}) is None  # no "save a version"
    assert not [b for b in page.find_all("button") if "Roll back" in b.get_text()]


def test_list_marks_the_deployed_version_and_the_one_matching_the_draft(agent, owner):
    save(agent, owner, "one")
    edit(agent, owner, "second")
    save(agent, owner, "two")
    type(agent).objects.filter(pk=agent.pk).update(deployed_version=1)
    page = soup(client_for(owner).get(url(agent)))
    rows = {row.th.get_text(" ", strip=True) for row in page.select("tbody tr")}
    assert rows == {"v2 same as draft", "v1 deployed"}
    assert "same as version 2" in page.find(id="draft-state").get_text(" ", strip=True)
    buttons = [b.get_text(" ", strip=True) for b in page.find_all("button")]
    assert "Roll back to version 1" in buttons and "Roll back to version 2" in buttons


def test_list_costs_the_same_queries_for_one_or_many_versions(agent, owner, django_assert_num_queries):
    client = client_for(owner)
    save(agent, owner)
    client.get(url(agent))  # warm the session
    with django_assert_num_queries(5):
        assert client.get(url(agent)).status_code == 200
    for n in range(6):
        edit(agent, owner, f"edit {n}")
        save(agent, owner)
    with django_assert_num_queries(5):
        page = client.get(url(agent))
    assert len(soup(page).select("tbody tr")) == 7


def test_diff_shows_changed_lines_side_by_side_marked_not_by_colour_alone(agent, owner):
    save(agent, owner)
    edit(agent, owner, "second")
    save(agent, owner)
    response = client_for(owner).get(url(agent, "diff/"), {"a": "1", "b": "2"})
    assert response.status_code == 200
    page = soup(response)
    removed = [cell.get_text("", strip=True) for cell in page.select("td.diff-line--removed")]
    added = [cell.get_text("", strip=True) for cell in page.select("td.diff-line--added")]
    # A visible −/+ mark and words for screen readers, not only the background colour.
    assert removed == ['−Removed:"instructions": "first",']
    assert added == ['+Added:"instructions": "second",']
    # The pair sits on one row: old left, new right.
    row = page.select_one("tr.diff-row--changed")
    assert "first" in row.select("td")[1].get_text() and "second" in row.select("td")[3].get_text()
    assert row.find("del") and row.find("ins")
    changes = {tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
               for tr in page.find("table", attrs={"aria-labelledby": "changes-heading"}).tbody.find_all("tr")}
    assert changes == {"config.instructions": ['"first"', '"second"']}


def test_diff_defaults_to_the_latest_version_against_the_draft(agent, owner):
    save(agent, owner)
    page = soup(client_for(owner).get(url(agent, "diff/")))
    assert page.find(id="no-differences") is not None
    assert page.find("select", attrs={"name": "a"}).find("option", selected=True)["value"] == "1"
    assert page.find("select", attrs={"name": "b"}).find("option", selected=True)["value"] == "draft"


def test_diff_with_an_unknown_version_is_an_error_beside_the_field(agent, owner):
    save(agent, owner)
    response = client_for(owner).get(url(agent, "diff/"), {"a": "9", "b": "draft"})
    assert response.status_code == 200
    assert field_errors(response, "a") == ["Select a valid choice. 9 is not one of the available choices."]
    assert not soup(response).select("table.diff")


def test_rollback_restores_the_version_and_is_audited(agent, owner):
    save(agent, owner)
    edit(agent, owner, "second")
    response = client_for(owner).post(url(agent, "1/rollback/"), follow=True)
    assert response.status_code == 200
    assert any("Rolled back" in message for message in flashes(response))
    agent.refresh_from_db()
    assert agent.config["instructions"] == "first"
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="version.rolled_back")
    assert entry.changes["rolled_back_to"] == {"old": None, "new": 1}
    assert entry.changes["config.instructions"] == {"old": "second", "new": "first"}
    assert entry.actor == owner


def test_rollback_to_a_missing_version_is_404_and_changes_nothing(agent, owner):
    response = client_for(owner).post(url(agent, "4/rollback/"))
    assert response.status_code == 404
    assert "no version 4" in response.content.decode()
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="version.rolled_back").exists()


def test_rollback_needs_post(agent, owner):
    save(agent, owner)
    assert client_for(owner).get(url(agent, "1/rollback/")).status_code == 405
