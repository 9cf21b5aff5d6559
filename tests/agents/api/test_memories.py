"""An agent's memories: the API (list, filter, create, delete, roles), the
service's validation, and the reads a run uses (relevant_memories, memory_text)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actor import Actor
from agents.memory_reads import CANDIDATES, memories_for, memory_text, relevant_memories
from agents.models import AuditLogEntry, Memory
from agents.services.memories import memory_create, memory_delete
from core.errors import ValidationFailed
from tests.conftest import META_KEYS, problem
from tests.role_matrix import Endpoint, RoleMatrix

MEMORY_KEYS = {"id", "kind", "content", "metadata", "created_by", "created_at"}


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Memo Bot", slug="memo-bot")


def remember(agent, owner, content, kind="semantic", *, ago=None, **extra):
    memory = memory_create(agent, actor=Actor(user=owner), content=content, kind=kind, **extra)
    if ago is not None:
        Memory.objects.filter(pk=memory.pk).update(created_at=timezone.now() - ago)
        memory.refresh_from_db()
    return memory


def url(agent, suffix=""):
    return f"/api/v1/agents/{agent.slug}/memories{suffix}"


# --- the API ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_create_memory_answers_201_and_records_it(api, owner, agent):
    # when
    response = api(owner).post(url(agent), {"content": "The customer prefers email.", "kind": "episodic",
                                            "metadata": {"source": "chat"}}, format="json")

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == MEMORY_KEYS
    assert data["kind"] == "episodic" and data["content"] == "The customer prefers email."
    assert data["metadata"] == {"source": "chat"}
    assert data["created_by"] == {"id": str(owner.pk), "email": owner.email}
    memory = Memory.objects.get(pk=data["id"])
    assert memory.agent_id == agent.pk and memory.created_by == owner
    entry = AuditLogEntry.objects.get(agent=agent, action="memory.created")
    assert entry.actor == owner
    assert entry.changes["memory"]["new"] == {"id": data["id"], "kind": "episodic",
                                              "content": "The customer prefers email.", "metadata": {"source": "chat"}}


@pytest.mark.django_db
def test_create_defaults_to_a_semantic_memory(api, owner, agent):
    response = api(owner).post(url(agent), {"content": "Paris is in France."}, format="json")

    assert response.status_code == 201
    assert response.json()["data"]["kind"] == "semantic" and response.json()["data"]["metadata"] == {}


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({}, "content"),
    ({"content": ""}, "content"),
    ({"content": "x" * 10_001}, "content"),
    ({"content": "ok", "kind": "dream"}, "kind"),
    ({"content": "ok", "metadata": "not an object"}, "metadata"),
    ({"content": "ok", "colour": "blue"}, "colour"),
])
def test_create_refuses_bad_input(api, owner, agent, body, field):
    body_ = problem(api(owner).post(url(agent), body, format="json"), 400, "validation_error")

    assert field in body_["errors"]
    assert not Memory.objects.exists()


@pytest.mark.django_db
def test_create_refuses_nul_characters(api, owner, agent):
    # The JSON parser refuses NUL anywhere in a body; the service refuses it too (the tool path has no parser).
    problem(api(owner).post(url(agent), {"content": "nul \x00 inside"}, format="json"), 400, "validation_error")
    with pytest.raises(ValidationFailed) as raised:
        memory_create(agent, actor=Actor(user=owner), content="nul \x00 inside")
    assert raised.value.errors == {"content": ["Null characters are not allowed."]}
    assert not Memory.objects.exists()


@pytest.mark.django_db
def test_create_refuses_a_body_that_is_not_an_object(api, owner, agent):
    problem(api(owner).post(url(agent), ["content"], format="json"), 400, "validation_error")


@pytest.mark.django_db
def test_list_is_newest_first_and_paginated(api, owner, agent):
    for n in range(3):
        remember(agent, owner, f"m{n}", ago=timedelta(minutes=10 - n))

    body = api(owner).get(url(agent) + "?limit=2").json()

    assert [m["content"] for m in body["data"]] == ["m2", "m1"]
    assert set(body["meta"]) == META_KEYS and body["meta"]["total"] == 3 and body["meta"]["has_more"] is True
    rest = api(owner).get(url(agent) + f"?limit=2&cursor={body['meta']['next_cursor']}").json()
    assert [m["content"] for m in rest["data"]] == ["m0"]


@pytest.mark.django_db
def test_list_filters_by_kind(api, owner, agent):
    remember(agent, owner, "a fact")
    remember(agent, owner, "always be polite", kind="rule")

    response = api(owner).get(url(agent) + "?kind=rule")

    assert [m["content"] for m in response.json()["data"]] == ["always be polite"]
    problem(api(owner).get(url(agent) + "?kind=dream"), 400, "validation_error")


@pytest.mark.django_db
def test_list_shows_only_this_agents_memories_with_constant_queries(api, owner, agent, make_agent, make_user,
                                                                    django_assert_max_num_queries):
    client = api(owner)
    remember(make_agent(owner, name="Other"), owner, "elsewhere")
    remember(agent, owner, "here")
    client.get(url(agent))  # the token's last_used_at is written once
    with django_assert_max_num_queries(4) as few:
        assert [m["content"] for m in client.get(url(agent)).json()["data"]] == ["here"]
    for n in range(20):
        remember(agent, make_user(), f"m{n}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url(agent))

    assert len(response.json()["data"]) == 21


@pytest.mark.django_db
def test_delete_memory_answers_204_and_records_it(api, owner, agent):
    memory = remember(agent, owner, "forget me")

    response = api(owner).delete(url(agent, f"/{memory.pk}"))

    assert response.status_code == 204 and response.content == b""
    assert not Memory.objects.filter(pk=memory.pk).exists()
    entry = AuditLogEntry.objects.get(agent=agent, action="memory.deleted")
    assert entry.changes["memory"]["old"]["content"] == "forget me" and entry.changes["memory"]["new"] is None


@pytest.mark.django_db
def test_delete_another_agents_memory_or_garbage_is_404(api, owner, agent, make_agent):
    other = remember(make_agent(owner, name="Other"), owner, "not yours")

    problem(api(owner).delete(url(agent, f"/{other.pk}")), 404, "not_found")
    problem(api(owner).delete(url(agent, "/not-a-uuid")), 404, "not_found")
    assert Memory.objects.filter(pk=other.pk).exists()


# --- roles and scopes --------------------------------------------------------------------------------

class TestRoles(RoleMatrix):
    collection = "memories"
    endpoints = [
        Endpoint("list", "get", "", None, "viewer", "agents:read", 200),
        Endpoint("create", "post", "", {"content": "new"}, "operator", "agents:run", 201),
        Endpoint("delete", "delete", "/{target}", None, "operator", "agents:run", 204),
    ]

    def existing(self, agent, owner):
        return remember(agent, owner, "existing")

    def state(self, agent):
        return list(Memory.objects.values_list("content", flat=True))


@pytest.mark.django_db
def test_anonymous_gets_401(api, agent):
    problem(api().get(url(agent)), 401, "not_authenticated")


# --- the service and the reads a run uses --------------------------------------------------------------

@pytest.mark.django_db
def test_memory_create_raises_field_errors(agent, owner):
    with pytest.raises(ValidationFailed) as raised:
        memory_create(agent, actor=Actor(user=owner), content="", kind="nope")

    assert set(raised.value.errors) == {"content", "kind"}


@pytest.mark.django_db
def test_memory_delete_removes_the_row(agent, owner):
    memory = remember(agent, owner, "gone soon")

    memory_delete(memory, actor=Actor(user=owner))

    assert not memories_for(agent).exists()


@pytest.mark.django_db
def test_relevant_memories_put_rules_first_then_overlap_then_recency(agent, owner):
    # given
    old_rule = remember(agent, owner, "Never share prices.", kind="rule", ago=timedelta(days=30))
    unrelated_new = remember(agent, owner, "The office moved to Lyon.", ago=timedelta(minutes=1))
    matching_old = remember(agent, owner, "Invoices are sent by email on Mondays.", ago=timedelta(days=3))
    matching_more = remember(agent, owner, "Email invoices need a PO number.", ago=timedelta(days=5))
    unrelated_old = remember(agent, owner, "The cat is called Tom.", ago=timedelta(days=9))

    # when
    picked = relevant_memories(agent, "How are invoices sent, by email?")

    # then
    assert picked == [old_rule, matching_old, matching_more, unrelated_new, unrelated_old]
    assert relevant_memories(agent, "invoices email", limit=2) == [old_rule, matching_old]
    assert relevant_memories(agent, "", limit=3) == [old_rule, unrelated_new, matching_old]


@pytest.mark.django_db
def test_relevant_memories_read_a_bounded_candidate_set(agent, owner, django_assert_num_queries):
    Memory.objects.bulk_create([Memory(agent=agent, content=f"note {n}") for n in range(CANDIDATES + 20)])

    with django_assert_num_queries(2) as captured:
        picked = relevant_memories(agent, "note 3", limit=5)

    assert len(picked) == 5
    assert f"LIMIT {CANDIDATES}" in captured.captured_queries[-1]["sql"]


@pytest.mark.django_db
def test_memory_text_is_one_line_per_memory_with_rules_marked(agent, owner):
    rule = remember(agent, owner, "Answer in\nFrench.", kind="rule")
    fact = remember(agent, owner, "The user is called Ada.")

    assert memory_text([rule, fact]) == "- [rule] Answer in French.\n- The user is called Ada."
    assert memory_text([]) == ""
