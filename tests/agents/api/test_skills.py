"""The skill library (``/skills``: each user's own skills) and an agent's
skill associations (``/agents/{agent}/skills``): CRUD, validation, visibility,
idempotent attaching, roles, query counts, and the services other code calls."""

import pytest

from accounts.actor import Actor
from agents.models import AgentSkill, AuditLogEntry, Skill
from agents.selectors import agent_skills, skills_visible_to
from agents.services.skills import skill_attach, skill_create
from core.errors import ApiError, ValidationFailed
from tests.conftest import META_KEYS, problem
from tests.role_matrix import Endpoint, RoleMatrix

SKILL_KEYS = {"id", "name", "description", "content", "tags", "source", "owner", "created_at", "updated_at"}
ASSOCIATION_KEYS = {"skill_id", "editable", "auto_connected", "connected_by", "connected_at", "name", "description",
                    "source", "tags"}


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Skilled Bot", slug="skilled-bot")


def new_skill(user, name="Web Search", **fields):
    return skill_create(actor=Actor(user=user), name=name, **fields)


# --- the library -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_create_skill_answers_201_owned_by_the_caller(api, owner):
    body = {"name": "Web Search", "description": "Search the web", "content": "Use the search tool.",
            "tags": ["research"], "source": "user"}

    response = api(owner).post("/api/v1/skills", body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == SKILL_KEYS
    assert {k: data[k] for k in body} == body
    assert data["owner"] == {"id": str(owner.pk), "email": owner.email}
    assert Skill.objects.get(pk=data["id"]).owner == owner


@pytest.mark.django_db
def test_create_with_a_name_the_owner_uses_is_409_but_another_user_may(api, owner, make_user):
    new_skill(owner, "Summaries")

    body = problem(api(owner).post("/api/v1/skills", {"name": "Summaries"}, format="json"), 409, "name_taken")
    assert body["errors"] == {"name": ["Already in use."]}

    assert api(make_user()).post("/api/v1/skills", {"name": "Summaries"}, format="json").status_code == 201
    assert Skill.objects.filter(name="Summaries").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "ok", "description": "d" * 501}, "description"),
    ({"name": "ok", "tags": "research"}, "tags"),
    ({"name": "ok", "tags": ["t"] * 21}, "tags"),
    ({"name": "ok", "owner_id": "someone"}, "owner_id"),
])
def test_create_skill_refuses_bad_input(api, owner, body, field):
    assert field in problem(api(owner).post("/api/v1/skills", body, format="json"), 400, "validation_error")["errors"]
    assert not Skill.objects.exists()


@pytest.mark.django_db
def test_users_see_only_their_own_skills_and_staff_see_all(api, owner, make_user):
    mine = new_skill(owner, "Mine")
    theirs = new_skill(make_user(), "Theirs")
    staff = make_user(is_staff=True)

    listed = api(owner).get("/api/v1/skills").json()
    assert [s["name"] for s in listed["data"]] == ["Mine"] and set(listed["meta"]) == META_KEYS
    assert [s["name"] for s in api(staff).get("/api/v1/skills").json()["data"]] == ["Mine", "Theirs"]
    assert api(owner).get(f"/api/v1/skills/{mine.pk}").json()["data"]["name"] == "Mine"
    problem(api(owner).get(f"/api/v1/skills/{theirs.pk}"), 404, "not_found")
    problem(api(owner).get("/api/v1/skills/not-a-uuid"), 404, "not_found")
    assert api(staff).get(f"/api/v1/skills/{theirs.pk}").status_code == 200


@pytest.mark.django_db
def test_patch_changes_only_the_fields_sent(api, owner):
    skill = new_skill(owner, "Draft", content="v1", tags=["a"])

    response = api(owner).patch(f"/api/v1/skills/{skill.pk}", {"content": "v2"}, format="json")

    assert response.status_code == 200, response.content
    skill.refresh_from_db()
    assert (skill.name, skill.content, skill.tags) == ("Draft", "v2", ["a"])
    assert response.json()["data"]["content"] == "v2"


@pytest.mark.django_db
def test_patch_to_a_taken_name_is_409_and_anothers_skill_is_404(api, owner, make_user):
    new_skill(owner, "Taken")
    skill = new_skill(owner, "Free")
    theirs = new_skill(make_user(), "Theirs")

    problem(api(owner).patch(f"/api/v1/skills/{skill.pk}", {"name": "Taken"}, format="json"), 409, "name_taken")
    problem(api(owner).patch(f"/api/v1/skills/{theirs.pk}", {"name": "Mine now"}, format="json"), 404, "not_found")
    problem(api(owner).delete(f"/api/v1/skills/{theirs.pk}"), 404, "not_found")
    assert Skill.objects.get(pk=theirs.pk).name == "Theirs"
    assert Skill.objects.get(pk=skill.pk).name == "Free"


@pytest.mark.django_db
def test_delete_skill_removes_it_from_agents_too(api, owner, agent):
    skill = new_skill(owner)
    skill_attach(agent, skill, actor=Actor(user=owner))

    assert api(owner).delete(f"/api/v1/skills/{skill.pk}").status_code == 204

    assert not Skill.objects.exists() and not AgentSkill.objects.exists()


@pytest.mark.django_db
def test_library_reads_need_read_scope_and_writes_write_scope(api, owner):
    skill = new_skill(owner)
    write_only = api(owner, scopes=["agents:write"])
    read_only = api(owner, scopes=["agents:read"])

    assert "agents:read" in problem(write_only.get("/api/v1/skills"), 403, "permission_denied")["detail"]
    assert "agents:write" in problem(read_only.post("/api/v1/skills", {"name": "n"}, format="json"),
                                     403, "permission_denied")["detail"]
    problem(read_only.delete(f"/api/v1/skills/{skill.pk}"), 403, "permission_denied")
    problem(api().get("/api/v1/skills"), 401, "not_authenticated")
    assert Skill.objects.count() == 1


@pytest.mark.django_db
def test_library_list_query_count_does_not_grow(api, owner, django_assert_max_num_queries):
    client = api(owner)
    new_skill(owner, "s-first")
    client.get("/api/v1/skills")
    with django_assert_max_num_queries(3) as few:
        client.get("/api/v1/skills")
    for n in range(15):
        new_skill(owner, f"s{n}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/skills").json()["data"]) == 16


# --- an agent's skills -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_attach_answers_201_with_the_enriched_association(api, owner, agent):
    skill = new_skill(owner, description="Search the web", tags=["research"])

    response = api(owner).post(f"/api/v1/agents/{agent.slug}/skills", {"skill_id": str(skill.pk),
                                                                      "editable": False}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == ASSOCIATION_KEYS
    assert data["skill_id"] == str(skill.pk) and data["editable"] is False and data["auto_connected"] is False
    assert data["connected_by"] == {"id": str(owner.pk), "email": owner.email}
    assert (data["name"], data["description"], data["source"], data["tags"]) == (
        "Web Search", "Search the web", "user", ["research"])
    entry = AuditLogEntry.objects.get(agent=agent, action="skill.attached")
    assert entry.changes["skill"]["new"] == {"skill_id": str(skill.pk), "name": "Web Search", "editable": False,
                                             "auto_connected": False}


@pytest.mark.django_db
def test_attaching_twice_answers_200_with_the_existing_association(api, owner, agent):
    skill = new_skill(owner)
    client = api(owner)
    first = client.post(f"/api/v1/agents/{agent.slug}/skills", {"skill_id": str(skill.pk)}, format="json")

    again = client.post(f"/api/v1/agents/{agent.slug}/skills", {"skill_id": str(skill.pk), "editable": False},
                        format="json")

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["data"] == first.json()["data"]  # unchanged: editable stays true
    assert AgentSkill.objects.filter(agent=agent, skill=skill).count() == 1
    assert AuditLogEntry.objects.filter(agent=agent, action="skill.attached").count() == 1


@pytest.mark.django_db
def test_attaching_a_skill_the_caller_cannot_see_is_400(api, owner, agent, make_user):
    theirs = new_skill(make_user(), "Theirs")

    for skill_id in (str(theirs.pk), "00000000-0000-0000-0000-000000000000"):
        body = problem(api(owner).post(f"/api/v1/agents/{agent.slug}/skills", {"skill_id": skill_id},
                                       format="json"), 400, "validation_error")
        assert body["errors"] == {"skill_id": ["No skill with this id in your library."]}
    assert "skill_id" in problem(api(owner).post(f"/api/v1/agents/{agent.slug}/skills", {"skill_id": "nope"},
                                                 format="json"), 400, "validation_error")["errors"]
    assert not AgentSkill.objects.exists()


@pytest.mark.django_db
def test_staff_may_attach_anyones_skill(api, owner, agent, make_user):
    theirs = new_skill(make_user(), "Theirs")
    staff = make_user(is_staff=True)

    response = api(staff).post(f"/api/v1/agents/{agent.slug}/skills", {"skill_id": str(theirs.pk)}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db
def test_list_in_connection_order_with_constant_queries(api, owner, agent, make_agent,
                                                        django_assert_max_num_queries):
    client = api(owner)
    first = new_skill(owner, "zeta")
    skill_attach(agent, first, actor=Actor(user=owner))
    skill_attach(make_agent(owner, name="Other"), new_skill(owner, "elsewhere"), actor=Actor(user=owner))
    client.get(f"/api/v1/agents/{agent.slug}/skills")
    with django_assert_max_num_queries(4) as few:
        assert [s["name"] for s in client.get(f"/api/v1/agents/{agent.slug}/skills").json()["data"]] == ["zeta"]
    for n in range(12):
        skill_attach(agent, new_skill(owner, f"a{n}"), actor=Actor(user=owner))

    with django_assert_max_num_queries(len(few.captured_queries)):
        data = client.get(f"/api/v1/agents/{agent.slug}/skills").json()["data"]

    assert [s["name"] for s in data] == ["zeta", *(f"a{n}" for n in range(12))]


@pytest.mark.django_db
def test_put_changes_editable_and_delete_disconnects(api, owner, agent):
    skill = new_skill(owner)
    skill_attach(agent, skill, actor=Actor(user=owner))
    client = api(owner)

    response = client.put(f"/api/v1/agents/{agent.slug}/skills/{skill.pk}", {"editable": False}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["editable"] is False
    assert AgentSkill.objects.get(agent=agent, skill=skill).editable is False
    assert AuditLogEntry.objects.get(agent=agent, action="skill.association_updated").changes[
        "skill.editable"] == {"old": True, "new": False}
    problem(client.put(f"/api/v1/agents/{agent.slug}/skills/{skill.pk}", {}, format="json"), 400, "validation_error")

    assert client.delete(f"/api/v1/agents/{agent.slug}/skills/{skill.pk}").status_code == 204
    assert not AgentSkill.objects.exists() and Skill.objects.filter(pk=skill.pk).exists()
    assert AuditLogEntry.objects.filter(agent=agent, action="skill.detached").exists()
    problem(client.delete(f"/api/v1/agents/{agent.slug}/skills/{skill.pk}"), 404, "not_found")
    problem(client.put(f"/api/v1/agents/{agent.slug}/skills/not-a-uuid", {"editable": True}, format="json"),
            404, "not_found")


# --- roles and scopes for an agent's skills -------------------------------------------------------------

class TestRoles(RoleMatrix):
    collection = "skills"
    endpoints = [
        Endpoint("list", "get", "", None, "viewer", "agents:read", 200),
        Endpoint("attach", "post", "", {"skill_id": "{fresh}"}, "admin", "agents:write", 201),
        Endpoint("update", "put", "/{target}", {"editable": False}, "admin", "agents:write", 200),
        Endpoint("detach", "delete", "/{target}", None, "admin", "agents:write", 204),
    ]

    def existing(self, agent, owner):
        attached = new_skill(owner, "attached")
        skill_attach(agent, attached, actor=Actor(user=owner))
        return attached

    def body(self, endpoint, user):
        if endpoint.body is None:
            return None
        fresh = Skill.objects.filter(owner=user, name="fresh").first() or new_skill(user, "fresh")
        return {k: (str(fresh.pk) if v == "{fresh}" else v) for k, v in endpoint.body.items()}

    def state(self, agent):
        return list(AgentSkill.objects.filter(agent=agent).values_list("skill_id", "editable"))


# --- the services and reads the chat calls -----------------------------------------------------------------

@pytest.mark.django_db
def test_skill_create_validates_and_refuses_a_taken_name(owner):
    skill = skill_create(actor=Actor(user=owner), name="Notes", tags=["x"])
    assert (skill.owner, skill.source, skill.tags) == (owner, "user", ["x"])

    with pytest.raises(ValidationFailed) as invalid:
        skill_create(actor=Actor(user=owner), name="")
    assert set(invalid.value.errors) == {"name"}
    with pytest.raises(ApiError) as taken:
        skill_create(actor=Actor(user=owner), name="Notes")
    assert (taken.value.status, taken.value.code) == (409, "name_taken")


@pytest.mark.django_db
def test_skill_attach_is_idempotent_and_agent_skills_keeps_connection_order(owner, agent, make_user):
    first, second = new_skill(owner, "b-first"), new_skill(owner, "a-second")

    link, created = skill_attach(agent, first, actor=Actor(user=owner), auto_connected=True)
    again, created_again = skill_attach(agent, first, actor=Actor(user=owner), editable=False)
    skill_attach(agent, second, actor=Actor(user=owner))

    assert created is True and created_again is False and again.pk == link.pk and again.editable is True
    assert link.auto_connected is True and link.connected_by == owner
    assert [a.skill.name for a in agent_skills(agent)] == ["b-first", "a-second"]
    assert list(skills_visible_to(make_user())) == []
    assert set(skills_visible_to(owner)) == {first, second}


@pytest.mark.django_db
def test_options_on_an_association_describes_it(api, owner, agent):
    skill = new_skill(owner)
    skill_attach(agent, skill, actor=Actor(user=owner))

    response = api(owner).options(f"/api/v1/agents/{agent.slug}/skills/{skill.pk}")

    assert response.status_code == 200, response.content
    problem(api(owner).options(f"/api/v1/agents/{agent.slug}/skills/{new_skill(owner, 'loose').pk}"),
            404, "not_found")
