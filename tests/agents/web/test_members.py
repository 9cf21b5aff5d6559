"""The members tab: list, add by email, change role, remove/leave, transfer; what each role sees (test client)."""

import pytest

from agents.models import Agent, AgentMember, AuditLogEntry
from tests.agents.web.lifecycle import assert_page_access, client_for, field_errors, flashes, form_errors, soup

pytestmark = pytest.mark.django_db


def url(agent, suffix=""):
    return f"/agents/{agent.slug}/members/{suffix}"


def role_of(agent, user):
    return AgentMember.objects.filter(agent=agent, user=user).values_list("role", flat=True).first()


def controls(response):
    """What the page lets its reader do: buttons by name, and whether the add and transfer forms exist."""
    page = soup(response)
    return {"buttons": sorted({b.get_text(" ", strip=True) for b in page.select("main table button")}),
            "add": page.find(id="add-heading") is not None, "transfer": page.find(id="transfer-heading") is not None,
            "role_options": sorted({o["value"] for o in page.select("main table select option")})}


def test_members_page_opens_for_members_only(agent, owner, make_user, add_member):
    viewer, stranger = make_user("viewer"), make_user("stranger")
    add_member(agent, viewer, "viewer")
    assert_page_access(url(agent), allowed=[owner, viewer], refused_404=[stranger])


def test_add_by_email_goes_through_the_service_and_is_audited(agent, owner, make_user):
    carol = make_user("carol", email="Carol@example.com")
    response = client_for(owner).post(url(agent), {"email": "carol@example.com", "role": "viewer"},
                                      REMOTE_ADDR="198.51.100.7", follow=True)
    assert flashes(response) == ["Added Carol@example.com as viewer."]
    member = AgentMember.objects.get(agent=agent, user=carol)
    assert (member.role, member.added_by) == ("viewer", owner)
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="member.added")
    assert entry.changes == {"members.Carol@example.com": {"old": None, "new": "viewer"}}
    assert (entry.actor, entry.ip) == (owner, "198.51.100.7")
    rows = [row.th.get_text(" ", strip=True) for row in soup(response).select("main table tbody tr")]
    assert rows == ["owner@example.com (you)", "Carol@example.com"]


def test_an_unknown_email_is_an_error_beside_the_field(agent, owner):
    response = client_for(owner).post(url(agent), {"email": "nobody@example.com", "role": "viewer"})
    assert response.status_code == 200
    assert field_errors(response, "email") == ["No active user matches."]
    assert AgentMember.objects.filter(agent=agent).count() == 1


def test_adding_an_existing_member_is_a_conflict_on_the_form(agent, owner, make_user, add_member):
    carol = make_user("carol")
    add_member(agent, carol, "viewer")
    response = client_for(owner).post(url(agent), {"email": carol.email, "role": "admin"})
    assert response.status_code == 200
    assert form_errors(response) == ["That user is already a member of this agent; change their role instead."]
    assert role_of(agent, carol) == "viewer"


def test_an_admin_may_not_add_an_admin_even_by_crafting_the_post(agent, make_user, add_member):
    admin, carol = make_user("admin"), make_user("carol")
    add_member(agent, admin, "admin")
    response = client_for(admin).get(url(agent))
    options = [o["value"] for o in soup(response).find("select", attrs={"name": "role", "id": "id_role"})
               .find_all("option")]
    assert options == ["operator", "viewer"]
    assert client_for(admin).post(url(agent), {"email": carol.email, "role": "admin"}).status_code == 403
    assert role_of(agent, carol) is None
    assert not AuditLogEntry.objects.filter(agent_ref=agent.pk, action="member.added").exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_sees_no_controls_and_cannot_post(agent, owner, make_user, add_member, role):
    me, carol = make_user("me"), make_user("carol")
    add_member(agent, me, role)
    add_member(agent, carol, "viewer")
    client = client_for(me)
    assert controls(client.get(url(agent))) == {"buttons": ["Leave this agent"], "add": False, "transfer": False,
                                                "role_options": []}
    assert client.post(url(agent), {"email": "x@example.com", "role": "viewer"}).status_code == 403
    assert client.post(url(agent, f"{carol.pk}/role/"), {"role": "admin"}).status_code == 403
    assert client.post(url(agent, f"{carol.pk}/remove/")).status_code == 403
    assert client.post(url(agent, "transfer/"), {"transfer-email": me.email}).status_code == 403
    assert role_of(agent, carol) == "viewer"
    assert Agent.objects.get(pk=agent.pk).owner == agent.owner


def test_an_admin_manages_operators_and_viewers_but_not_admins_or_the_owner(agent, make_user, add_member):
    admin, other_admin, viewer = make_user("admin"), make_user("admin2"), make_user("viewer")
    add_member(agent, admin, "admin")
    add_member(agent, other_admin, "admin")
    add_member(agent, viewer, "viewer")
    page = soup(client_for(admin).get(url(agent)))
    row = {tr["data-member"]: [b.get_text(" ", strip=True) for b in tr.find_all("button")]
           for tr in page.select("main table tbody tr")}
    assert row == {"owner@example.com": [], "admin@example.com": ["Leave this agent"], "admin2@example.com": [],
                   "viewer@example.com": ["Change role of viewer@example.com", "Remove viewer@example.com"]}
    assert page.find(id="transfer-heading") is None


def test_change_role_goes_through_the_service_and_is_audited(agent, owner, make_user, add_member):
    carol = make_user("carol")
    add_member(agent, carol, "viewer")
    response = client_for(owner).post(url(agent, f"{carol.pk}/role/"), {"role": "admin"}, follow=True)
    assert flashes(response) == ["Role changed to admin."]
    assert role_of(agent, carol) == "admin"
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="member.role_changed")
    assert entry.changes == {"members.carol@example.com": {"old": "viewer", "new": "admin"}}


def test_a_bad_role_or_the_owners_row_is_a_flash(agent, owner, make_user, add_member):
    carol = make_user("carol")
    add_member(agent, carol, "viewer")
    client = client_for(owner)
    response = client.post(url(agent, f"{carol.pk}/role/"), {"role": "owner"}, follow=True)
    assert flashes(response) == ["role must be admin, operator or viewer."]
    response = client.post(url(agent, f"{owner.pk}/remove/"), follow=True)
    assert flashes(response) == ["The owner's role cannot be changed or removed; transfer ownership instead."]
    assert role_of(agent, carol) == "viewer" and role_of(agent, owner) == "owner"


def test_remove_and_leave(agent, owner, make_user, add_member):
    carol, dave = make_user("carol"), make_user("dave")
    add_member(agent, carol, "operator")
    add_member(agent, dave, "viewer")
    response = client_for(owner).post(url(agent, f"{carol.pk}/remove/"), follow=True)
    assert flashes(response) == ["Member removed."]
    response = client_for(dave).post(url(agent, f"{dave.pk}/remove/"))
    assert response.status_code == 302 and response["Location"] == "/agents/"
    assert role_of(agent, carol) is None and role_of(agent, dave) is None
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="member.removed").count() == 2


def test_an_unknown_member_is_404(agent, owner):
    response = client_for(owner).post(url(agent, "00000000-0000-0000-0000-000000000000/remove/"))
    assert response.status_code == 404


def test_transfer_makes_the_new_owner_and_keeps_the_old_one_as_admin(agent, owner, make_user):
    carol = make_user("carol")
    response = client_for(owner).post(url(agent, "transfer/"), {"transfer-email": carol.email}, follow=True)
    assert flashes(response) == ["carol@example.com now owns Team Bot; you are an admin."]
    assert Agent.objects.get(pk=agent.pk).owner == carol
    assert (role_of(agent, carol), role_of(agent, owner)) == ("owner", "admin")
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="agent.ownership_transferred")
    assert entry.changes == {"owner": {"old": owner.email, "new": carol.email}}
    assert controls(response)["transfer"] is False  # the former owner no longer sees it


def test_transfer_errors_are_beside_the_field(agent, owner, make_user, make_agent):
    carol = make_user("carol")
    make_agent(carol, "Team Bot")
    client = client_for(owner)
    response = client.post(url(agent, "transfer/"), {"transfer-email": "nobody@example.com"})
    assert field_errors(response, "email", within="form[action$='/transfer/']") == ["No active user matches."]
    assert field_errors(response, "email") == []  # not on the add form beside it
    response = client.post(url(agent, "transfer/"), {"transfer-email": carol.email})
    assert form_errors(response) == ["name: Already in use by the new owner."]
    assert Agent.objects.get(pk=agent.pk).owner == owner


def test_list_costs_the_same_queries_for_one_or_many_members(agent, owner, make_user, add_member,
                                                             django_assert_num_queries):
    client = client_for(owner)
    client.get(url(agent))
    with django_assert_num_queries(5):
        client.get(url(agent))
    for n in range(5):
        add_member(agent, make_user(f"m{n}"), "viewer")
    with django_assert_num_queries(5):
        page = client.get(url(agent))
    assert len(soup(page).select("main table tbody tr")) == 6
