"""The skill library page and an agent's skills tab (test client)."""

import pytest

from accounts.actor import Actor
from agents.models import AgentSkill, AuditLogEntry, Skill
from agents.services.skills import skill_attach, skill_create
from tests.agents.web.lifecycle import assert_page_access, client_for, field_errors, flashes, soup, status_for

pytestmark = pytest.mark.django_db
LIBRARY = "/skills/"


def url(agent, suffix=""):
    return f"/agents/{agent.slug}/skills/{suffix}"


def new_skill(user, name="Triage", **fields):
    return skill_create(actor=Actor(user=user), name=name, content=fields.pop("content", "Sort by urgency."), **fields)


def attached_skill(agent, owner, name="Triage"):
    """A new skill in ``owner``'s library, attached to ``agent`` by them."""
    skill = new_skill(owner, name)
    skill_attach(agent, skill, actor=Actor(user=owner))
    return skill


def names(response):
    return [tr.th.get_text(" ", strip=True) for tr in soup(response).select("main table tbody tr") if tr.th]


# --- the library ---------------------------------------------------------------------------------

def test_library_lists_only_your_own_skills(owner, make_user):
    other = make_user("other")
    new_skill(owner, "Mine")
    new_skill(other, "Theirs")
    assert names(client_for(owner).get(LIBRARY)) == ["Mine"]
    assert_page_access(LIBRARY, allowed=[owner], refused_404=[])
    nav = soup(client_for(owner).get(LIBRARY)).find("nav", attrs={"aria-label": "Main"})
    assert nav.find("a", attrs={"aria-current": "page"}).get_text(strip=True) == "Skills"


def test_create_goes_through_the_service_with_the_forms_values(owner):
    response = client_for(owner).post(LIBRARY, {"name": "Escalation", "description": "When to call a human",
                                                "content": "  Page the on-call.\n", "tags": "support, ops ,"},
                                      follow=True)
    assert flashes(response) == ["Added skill 'Escalation' to your library."]
    skill = Skill.objects.get(owner=owner)
    assert (skill.name, skill.description, skill.content, skill.tags, skill.source) == (
        "Escalation", "When to call a human", "  Page the on-call.\n", ["support", "ops"], "user")


def test_a_taken_name_is_a_conflict_beside_the_name(owner):
    new_skill(owner, "Triage")
    response = client_for(owner).post(LIBRARY, {"name": "Triage", "content": "again"})
    assert response.status_code == 200
    assert field_errors(response, "name") == ["Already in use."]
    assert Skill.objects.filter(owner=owner).count() == 1


def test_a_too_long_tag_is_the_services_error_beside_the_tags(owner):
    response = client_for(owner).post(LIBRARY, {"name": "Tagged", "tags": "ok, " + "x" * 51})
    assert response.status_code == 200
    assert field_errors(response, "tags") == ["Ensure this field has no more than 50 characters."]
    assert not Skill.objects.exists()


def test_edit_and_delete(owner, agent):
    skill = attached_skill(agent, owner)
    client = client_for(owner)
    page = soup(client.get(f"/skills/{skill.pk}/"))
    assert page.find("input", attrs={"name": "name"})["value"] == "Triage"
    response = client.post(f"/skills/{skill.pk}/", {"name": "Triage v2", "content": "New way.", "tags": "a"},
                           follow=True)
    assert flashes(response) == ["Saved skill 'Triage v2'."]
    skill.refresh_from_db()
    assert (skill.name, skill.content, skill.tags) == ("Triage v2", "New way.", ["a"])
    response = client.post(f"/skills/{skill.pk}/delete/", follow=True)
    assert flashes(response) == ["Deleted skill 'Triage v2'; it left every agent it was connected to."]
    assert not Skill.objects.exists() and not AgentSkill.objects.exists()


def test_someone_elses_skill_is_404(owner, make_user):
    theirs = new_skill(make_user("other"), "Theirs")
    client = client_for(owner)
    assert client.get(f"/skills/{theirs.pk}/").status_code == 404
    assert client.post(f"/skills/{theirs.pk}/", {"name": "Stolen"}).status_code == 404
    assert client.post(f"/skills/{theirs.pk}/delete/").status_code == 404
    assert client.get("/skills/not-a-uuid/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_library_costs_the_same_queries_for_one_or_many_skills(owner, django_assert_num_queries):
    client = client_for(owner)
    new_skill(owner, "s0")
    client.get(LIBRARY)
    with django_assert_num_queries(4):
        client.get(LIBRARY)
    for n in range(1, 6):
        new_skill(owner, f"s{n}", tags=["t"])
    with django_assert_num_queries(4):
        assert len(names(client.get(LIBRARY))) == 6


# --- an agent's skills ---------------------------------------------------------------------------------

def test_agent_skills_tab_opens_for_members_only(agent, owner, make_user, add_member):
    viewer, stranger = make_user("viewer"), make_user("stranger")
    add_member(agent, viewer, "viewer")
    assert_page_access(url(agent), allowed=[owner, viewer], refused_404=[stranger])


def test_attach_offers_only_unattached_library_skills_and_goes_through_the_service(agent, owner):
    attached, free = new_skill(owner, "Attached"), new_skill(owner, "Free")
    skill_attach(agent, attached, actor=Actor(user=owner))
    client = client_for(owner)
    options = [o.get_text() for o in soup(client.get(url(agent))).find("select", attrs={"name": "skill_id"})
               .find_all("option")]
    assert options == ["Free"]
    response = client.post(url(agent), {"skill_id": str(free.pk)}, follow=True)
    assert flashes(response) == ["Attached skill 'Free'."]
    link = AgentSkill.objects.get(agent=agent, skill=free)
    assert (link.editable, link.connected_by) == (False, owner)  # the box was left unticked
    entry = AuditLogEntry.objects.filter(agent_ref=agent.pk, action="skill.attached").latest("created_at")
    assert entry.changes["skill"]["new"]["name"] == "Free"


def test_attaching_someone_elses_skill_is_an_error_beside_the_field(agent, owner, make_user):
    theirs = new_skill(make_user("other"), "Theirs")
    response = client_for(owner).post(url(agent), {"skill_id": str(theirs.pk), "editable": "on"})
    assert response.status_code == 200
    assert field_errors(response, "skill_id") == ["No skill with this id in your library."]
    assert not AgentSkill.objects.exists()


def test_detach_and_toggle_editable(agent, owner):
    skill = attached_skill(agent, owner)
    client = client_for(owner)
    response = client.post(url(agent, f"{skill.pk}/editable/"), follow=True)
    assert flashes(response) == ["'Triage' is now read-only for the agent."]
    assert AgentSkill.objects.get(agent=agent).editable is False
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="skill.association_updated").count() == 1
    response = client.post(url(agent, f"{skill.pk}/detach/"), follow=True)
    assert flashes(response) == ["Detached skill 'Triage'; it stays in the library."]
    assert not AgentSkill.objects.exists() and Skill.objects.filter(pk=skill.pk).exists()
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="skill.detached").count() == 1
    assert client.post(url(agent, f"{skill.pk}/detach/")).status_code == 404  # no longer attached


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_reads_but_cannot_change_the_agents_skills(agent, owner, make_user, add_member, role):
    member = make_user(role)
    add_member(agent, member, role)
    skill = attached_skill(agent, owner)
    own = new_skill(member, "Member's")
    client = client_for(member)
    page = client.get(url(agent))
    assert names(page) == ["Triage"]
    assert soup(page).find(id="attach-heading") is None and not soup(page).select("main table button")
    assert client.post(url(agent), {"skill_id": str(own.pk)}).status_code == 403
    assert client.post(url(agent, f"{skill.pk}/detach/")).status_code == 403
    assert client.post(url(agent, f"{skill.pk}/editable/")).status_code == 403
    assert list(AgentSkill.objects.values_list("skill__name", "editable")) == [("Triage", True)]
    assert status_for(member, LIBRARY) == 200  # their own library is theirs


def test_agent_skills_cost_the_same_queries_for_one_or_many(agent, owner, django_assert_num_queries):
    client = client_for(owner)
    attached_skill(agent, owner, "s0")
    client.get(url(agent))
    with django_assert_num_queries(5):
        client.get(url(agent))
    for n in range(1, 6):
        attached_skill(agent, owner, f"s{n}")
    new_skill(owner, "spare")
    with django_assert_num_queries(5):
        assert len(names(client.get(url(agent)))) == 6
