"""The memories tab: list with a kind filter, add and forget (operators, as in the API) (test client)."""

import pytest

from accounts.actor import Actor
from agents.models import AuditLogEntry, Memory
from agents.services.memories import memory_create
from tests.agents.web.lifecycle import assert_page_access, client_for, field_errors, flashes, soup

pytestmark = pytest.mark.django_db


def url(agent, suffix=""):
    return f"/agents/{agent.slug}/memories/{suffix}"


def remember(agent, owner, content, kind="semantic"):
    return memory_create(agent, actor=Actor(user=owner), content=content, kind=kind)


def listed(response):
    return [tr.select_one(".memory-content").get_text(" ", strip=True)
            for tr in soup(response).select("main table tbody tr") if tr.select_one(".memory-content")]


def test_memories_page_opens_for_members_only(agent, owner, make_user, add_member):
    viewer, stranger = make_user("viewer"), make_user("stranger")
    add_member(agent, viewer, "viewer")
    assert_page_access(url(agent), allowed=[owner, viewer], refused_404=[stranger])


def test_an_operator_adds_a_memory_through_the_service(agent, make_user, add_member):
    operator = make_user("operator")
    add_member(agent, operator, "operator")
    response = client_for(operator).post(url(agent), {"content": "Always answer in French.", "kind": "rule"},
                                         follow=True)
    assert flashes(response) == ["Memory added."]
    memory = Memory.objects.get(agent=agent)
    assert (memory.content, memory.kind, memory.created_by) == ("Always answer in French.", "rule", operator)
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="memory.created")
    assert entry.changes["memory"]["new"]["content"] == "Always answer in French."
    assert entry.actor == operator
    assert listed(response) == ["Always answer in French."]


def test_too_long_content_is_the_services_error_beside_the_field(agent, owner):
    response = client_for(owner).post(url(agent), {"content": "x" * 10_001, "kind": "semantic"})
    assert response.status_code == 200
    assert field_errors(response, "content") == ["Ensure this field has no more than 10000 characters."]
    assert not Memory.objects.exists()


def test_an_empty_memory_is_refused_beside_the_field(agent, owner):
    response = client_for(owner).post(url(agent), {"content": "", "kind": "semantic"})
    assert field_errors(response, "content") == ["This field is required."]
    assert not Memory.objects.exists()


def test_forget_goes_through_the_service(agent, owner):
    memory = remember(agent, owner, "The sky is blue.")
    response = client_for(owner).post(url(agent, f"{memory.pk}/delete/"), follow=True)
    assert flashes(response) == ["Memory forgotten."]
    assert not Memory.objects.exists()
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="memory.deleted").count() == 1


def test_a_viewer_reads_but_cannot_add_or_forget(agent, owner, make_user, add_member):
    viewer = make_user("viewer")
    add_member(agent, viewer, "viewer")
    memory = remember(agent, owner, "Keep this.")
    client = client_for(viewer)
    page = client.get(url(agent))
    assert listed(page) == ["Keep this."]
    assert soup(page).find(id="add-heading") is None
    assert not soup(page).select("main table button")
    assert client.post(url(agent), {"content": "sneaky", "kind": "semantic"}).status_code == 403
    assert client.post(url(agent, f"{memory.pk}/delete/")).status_code == 403
    assert list(Memory.objects.values_list("content", flat=True)) == ["Keep this."]


def test_another_agents_memory_is_404(agent, owner, make_agent):
    other = remember(make_agent(owner, "Other"), owner, "not yours")
    assert client_for(owner).post(url(agent, f"{other.pk}/delete/")).status_code == 404
    assert client_for(owner).post(url(agent, "nope/delete/")).status_code == 404
    assert Memory.objects.filter(pk=other.pk).exists()


def test_filter_by_kind(agent, owner):
    remember(agent, owner, "A fact.")
    remember(agent, owner, "A rule.", kind="rule")
    assert listed(client_for(owner).get(url(agent), {"kind": "rule"})) == ["A rule."]
    assert listed(client_for(owner).get(url(agent))) == ["A rule.", "A fact."]  # newest first
    response = client_for(owner).get(url(agent), {"kind": "dream"})
    assert field_errors(response, "kind", within="form[method=get]") == [
        "Select a valid choice. dream is not one of the available choices."]
    assert soup(response).find(id="filter_kind") and soup(response).find(id="id_kind")  # no duplicate ids


def test_list_costs_the_same_queries_for_one_or_many_memories(agent, owner, django_assert_num_queries):
    client = client_for(owner)
    remember(agent, owner, "one")
    client.get(url(agent))
    with django_assert_num_queries(5):
        client.get(url(agent))
    for n in range(6):
        remember(agent, owner, f"memory {n}")
    with django_assert_num_queries(5):
        page = client.get(url(agent))
    assert len(listed(page)) == 7
