"""Members, roles and ownership transfer (API.md §2)."""

import pytest

from agents.models import Agent, AgentMember, AuditLogEntry
from tests.conftest import problem


@pytest.fixture
def agent(user, make_agent):
    return make_agent(user, name="Team Bot", slug="team-bot")


@pytest.mark.django_db
class TestList:
    def test_owner_first_then_members(self, api, user, make_user, agent, add_member):
        bob = make_user("bob")
        add_member(agent, bob, "operator")
        body = api(user).get("/api/v1/agents/team-bot/admins").json()
        assert [(m["user"]["email"], m["role"]) for m in body["data"]] == [
            (user.email, "owner"), (bob.email, "operator")]
        assert set(body["data"][0]) == {"user", "role", "added_at", "added_by"}
        assert body["meta"]["total"] == 2


@pytest.mark.django_db
class TestAdd:
    def test_owner_adds_admin_by_email(self, api, user, make_user, agent):
        bob = make_user("bob")
        response = api(user).post("/api/v1/agents/team-bot/admins", {"email": "BOB@example.com", "role": "admin"})
        assert response.status_code == 201, response.content
        assert response.json()["data"]["role"] == "admin"
        assert response.json()["data"]["user"] == {"id": str(bob.pk), "email": bob.email}
        assert response.json()["data"]["added_by"]["id"] == str(user.pk)
        assert AgentMember.objects.get(agent=agent, user=bob).role == "admin"
        entry = AuditLogEntry.objects.get(action="member.added")
        assert entry.changes == {f"members.{bob.email}": {"old": None, "new": "admin"}}

    def test_add_by_user_id(self, api, user, make_user, agent):
        bob = make_user("bob")
        response = api(user).post("/api/v1/agents/team-bot/admins", {"user_id": str(bob.pk), "role": "viewer"})
        assert response.status_code == 201

    def test_admin_adds_operator_but_not_admin(self, api, user, make_user, agent, add_member):
        admin = make_user("adm")
        add_member(agent, admin, "admin")
        make_user("bob")
        client = api(admin)
        problem(client.post("/api/v1/agents/team-bot/admins", {"email": "bob@example.com", "role": "admin"}),
                403, "permission_denied")
        assert client.post("/api/v1/agents/team-bot/admins",
                           {"email": "bob@example.com", "role": "operator"}).status_code == 201

    def test_existing_member_is_409(self, api, user, make_user, agent, add_member):
        bob = make_user("bob")
        add_member(agent, bob, "viewer")
        problem(api(user).post("/api/v1/agents/team-bot/admins", {"email": bob.email, "role": "admin"}),
                409, "conflict")

    def test_owner_cannot_be_added_again(self, api, user, agent):
        problem(api(user).post("/api/v1/agents/team-bot/admins", {"email": user.email, "role": "admin"}),
                409, "conflict")

    @pytest.mark.parametrize("body,field", [
        ({"email": "nobody@example.com", "role": "viewer"}, "email"),
        ({"role": "viewer"}, "email"),
        ({"email": "bob@example.com", "role": "owner"}, "role"),
        ({"email": "bob@example.com", "role": "king"}, "role"),
        ({"email": "not-an-email", "role": "viewer"}, "email"),
    ])
    def test_validation(self, api, user, make_user, agent, body, field):
        make_user("bob")
        response = problem(api(user).post("/api/v1/agents/team-bot/admins", body), 400, "validation_error")
        assert field in response["errors"]
        assert AgentMember.objects.filter(agent=agent).count() == 1


@pytest.mark.django_db
class TestChangeAndRemove:
    def test_owner_promotes_operator_to_admin(self, api, user, make_user, agent, add_member):
        bob = make_user("bob")
        add_member(agent, bob, "operator")
        response = api(user).patch(f"/api/v1/agents/team-bot/admins/{bob.pk}", {"role": "admin"})
        assert response.status_code == 200
        assert response.json()["data"]["role"] == "admin"
        assert AuditLogEntry.objects.get(action="member.role_changed").changes == {
            f"members.{bob.email}": {"old": "operator", "new": "admin"}}

    def test_admin_cannot_demote_another_admin(self, api, user, make_user, agent, add_member):
        admin, other = make_user("adm"), make_user("adm2")
        add_member(agent, admin, "admin")
        add_member(agent, other, "admin")
        problem(api(admin).patch(f"/api/v1/agents/team-bot/admins/{other.pk}", {"role": "viewer"}),
                403, "permission_denied")
        problem(api(admin).delete(f"/api/v1/agents/team-bot/admins/{other.pk}"), 403, "permission_denied")
        assert AgentMember.objects.get(user=other).role == "admin"

    def test_admin_cannot_promote_to_admin(self, api, user, make_user, agent, add_member):
        admin, bob = make_user("adm"), make_user("bob")
        add_member(agent, admin, "admin")
        add_member(agent, bob, "viewer")
        problem(api(admin).patch(f"/api/v1/agents/team-bot/admins/{bob.pk}", {"role": "admin"}),
                403, "permission_denied")

    def test_admin_removes_viewer(self, api, user, make_user, agent, add_member):
        admin, bob = make_user("adm"), make_user("bob")
        add_member(agent, admin, "admin")
        add_member(agent, bob, "viewer")
        assert api(admin).delete(f"/api/v1/agents/team-bot/admins/{bob.pk}").status_code == 204
        assert not AgentMember.objects.filter(user=bob).exists()
        assert AuditLogEntry.objects.filter(action="member.removed").count() == 1

    def test_viewer_may_leave_but_not_remove_others(self, api, user, make_user, agent, add_member):
        bob, carol = make_user("bob"), make_user("carol")
        add_member(agent, bob, "viewer")
        add_member(agent, carol, "viewer")
        problem(api(bob).delete(f"/api/v1/agents/team-bot/admins/{carol.pk}"), 403, "permission_denied")
        assert api(bob).delete(f"/api/v1/agents/team-bot/admins/{bob.pk}").status_code == 204
        problem(api(bob).get("/api/v1/agents/team-bot"), 404, "not_found")

    def test_owner_cannot_be_removed_or_changed(self, api, user, agent):
        problem(api(user).delete(f"/api/v1/agents/team-bot/admins/{user.pk}"), 409, "conflict")
        problem(api(user).patch(f"/api/v1/agents/team-bot/admins/{user.pk}", {"role": "viewer"}), 409, "conflict")

    def test_unknown_member_is_404(self, api, user, agent):
        problem(api(user).delete("/api/v1/agents/team-bot/admins/0d5c7f8e-1234-4abc-9def-0123456789ab"),
                404, "not_found")
        problem(api(user).delete("/api/v1/agents/team-bot/admins/not-a-uuid"), 404, "not_found")


@pytest.mark.django_db
class TestTransfer:
    def test_owner_transfers_and_stays_admin(self, api, user, make_user, agent, add_member):
        bob = make_user("bob")
        add_member(agent, bob, "viewer")
        response = api(user).post("/api/v1/agents/team-bot/transfer", {"email": bob.email})
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["owner"]["id"] == str(bob.pk)
        assert data["role"] == "admin"
        agent.refresh_from_db()
        assert agent.owner == bob
        assert AgentMember.objects.get(agent=agent, user=bob).role == "owner"
        assert AgentMember.objects.get(agent=agent, user=user).role == "admin"
        assert AgentMember.objects.filter(agent=agent, role="owner").count() == 1
        assert AuditLogEntry.objects.get(action="agent.ownership_transferred").changes == {
            "owner": {"old": user.email, "new": bob.email}}

    def test_new_owner_with_same_agent_name_is_409(self, api, user, make_user, make_agent, agent):
        bob = make_user("bob")
        make_agent(bob, name="Team Bot")
        problem(api(user).post("/api/v1/agents/team-bot/transfer", {"email": bob.email}), 409, "name_taken")
        assert Agent.objects.get(slug="team-bot").owner == user

    def test_transfer_to_self_is_409(self, api, user, agent):
        problem(api(user).post("/api/v1/agents/team-bot/transfer", {"email": user.email}), 409, "conflict")

    def test_transfer_to_unknown_user_is_400(self, api, user, agent):
        body = problem(api(user).post("/api/v1/agents/team-bot/transfer", {"email": "x@example.com"}),
                       400, "validation_error")
        assert "email" in body["errors"]
