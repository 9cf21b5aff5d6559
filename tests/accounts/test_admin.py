"""The Django admin: every model's changelist loads for staff; tokens and the
audit log cannot be added there; the audit log is read-only."""

import pytest
from django.test import Client

from accounts.models import ApiToken, User
from agents.models import Agent, AgentMember, AuditLogEntry

CHANGELISTS = [
    "/admin/accounts/user/",
    "/admin/accounts/apitoken/",
    "/admin/agents/agent/",
    "/admin/agents/agentmember/",
    "/admin/agents/auditlogentry/",
]


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_web(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def populated(user, make_user, make_agent, add_member, make_token):
    """An agent (its creation writes one audit entry) with an owner and a viewer, and a token."""
    agent = make_agent(user, name="Support Bot", tags=["faq"])
    add_member(agent, make_user("viewer1"), "viewer")
    make_token(user, name="ci-token")
    return agent


@pytest.mark.django_db
class TestChangelists:
    @pytest.mark.parametrize("url", CHANGELISTS)
    def test_staff_superuser_loads_changelist(self, admin_web, populated, url):
        response = admin_web.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")

    def test_changelists_show_the_rows(self, admin_web, populated):
        assert b"alice@example.com" in admin_web.get("/admin/accounts/user/").content
        assert b"ci-token" in admin_web.get("/admin/accounts/apitoken/").content
        assert b"support-bot" in admin_web.get("/admin/agents/agent/").content
        assert b"viewer1" in admin_web.get("/admin/agents/agentmember/").content
        assert b"agent.created" in admin_web.get("/admin/agents/auditlogentry/").content

    @pytest.mark.parametrize("url", CHANGELISTS)
    def test_search_works(self, admin_web, populated, url):
        assert admin_web.get(url, {"q": "alice"}).status_code == 200

    @pytest.mark.parametrize("url, params", [
        ("/admin/agents/agentmember/", {"role__exact": "owner"}),
        ("/admin/agents/agent/", {"status__exact": "active"}),
        ("/admin/agents/auditlogentry/", {"action__exact": "agent.created"}),
    ])
    def test_filters_work(self, admin_web, populated, url, params):
        assert admin_web.get(url, params).status_code == 200

    def test_change_pages_load(self, admin_web, populated, user):
        token = ApiToken.objects.get()
        member = AgentMember.objects.filter(agent=populated).first()
        for url in [f"/admin/accounts/user/{user.pk}/change/", f"/admin/accounts/apitoken/{token.pk}/change/",
                    f"/admin/agents/agent/{populated.pk}/change/", f"/admin/agents/agentmember/{member.pk}/change/",
                    "/admin/accounts/user/add/"]:
            assert admin_web.get(url).status_code == 200, url

    def test_agents_are_not_created_in_the_admin(self, admin_web):
        # the API creates them, making the owner a member and auditing it
        assert admin_web.get("/admin/agents/agent/add/").status_code == 403

    def test_status_change_in_admin_goes_through_the_service(self, admin_web, populated):
        response = admin_web.post(f"/admin/agents/agent/{populated.pk}/change/", {
            "status": "paused",
            "members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0",
            "tag_rows-TOTAL_FORMS": "0", "tag_rows-INITIAL_FORMS": "0"})
        assert response.status_code == 302, response.content[:2000]
        populated.refresh_from_db()
        assert populated.status == "paused" and populated.revision == 2
        entry = AuditLogEntry.objects.get(action="agent.status_changed")
        assert entry.changes == {"status": {"old": "active", "new": "paused"}}

    def test_delete_in_admin_is_audited(self, admin_web, populated):
        response = admin_web.post(f"/admin/agents/agent/{populated.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Agent.objects.filter(pk=populated.pk).exists()
        assert AuditLogEntry.objects.filter(action="agent.deleted", agent_ref=populated.pk).exists()

    def test_default_agent_cannot_be_deleted_in_admin(self, admin_web, user, make_agent):
        agent = make_agent(user, name="default")
        assert admin_web.post(f"/admin/agents/agent/{agent.pk}/delete/", {"post": "yes"}).status_code == 403
        assert Agent.objects.filter(pk=agent.pk).exists()

    def test_token_change_page_never_shows_the_hash(self, admin_web, populated):
        token = ApiToken.objects.get()
        response = admin_web.get(f"/admin/accounts/apitoken/{token.pk}/change/")
        assert response.status_code == 200
        assert token.key_hash.encode() not in response.content
        assert token.prefix.encode() in response.content

    def test_staff_can_add_two_users_with_their_emails(self, superuser):
        # given the admin's "Add user" form (email is unique and required on this user model)
        client = Client(raise_request_exception=False)
        client.force_login(superuser)
        # when two users are added one after the other
        for name in ["newbie1", "newbie2"]:
            response = client.post("/admin/accounts/user/add/", {
                "username": name, "email": f"{name}@example.com", "usable_password": "true",
                "password1": "Xy-12345678zz", "password2": "Xy-12345678zz"})
            # then each is created (302 to its change page) with the email given
            assert response.status_code == 302, (name, response.status_code)
        assert sorted(User.objects.filter(username__startswith="newbie").values_list("email", flat=True)) == [
            "newbie1@example.com", "newbie2@example.com"]

    def test_tokens_cannot_be_added_in_admin(self, admin_web, db):
        assert admin_web.get("/admin/accounts/apitoken/add/").status_code == 403

    def test_non_staff_is_sent_to_login(self, user):
        client = Client()
        client.force_login(user)
        for url in CHANGELISTS:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/")

    def test_anonymous_is_sent_to_login(self, db):
        response = Client().get("/admin/accounts/apitoken/")
        assert response.status_code == 302


@pytest.mark.django_db
class TestAuditLogIsReadOnly:
    def test_add_is_403(self, admin_web, populated):
        response = admin_web.get("/admin/agents/auditlogentry/add/")
        assert response.status_code == 403
        assert admin_web.post("/admin/agents/auditlogentry/add/", {"action": "agent.created"}).status_code == 403
        assert AuditLogEntry.objects.count() == 1

    def test_entry_can_be_viewed_but_not_changed(self, admin_web, populated):
        entry = AuditLogEntry.objects.get()
        url = f"/admin/agents/auditlogentry/{entry.pk}/change/"
        response = admin_web.get(url)
        assert response.status_code == 200
        assert b'name="_save"' not in response.content
        assert admin_web.post(url, {"action": "agent.deleted"}).status_code == 403
        entry.refresh_from_db()
        assert entry.action == "agent.created"

    def test_entry_cannot_be_deleted(self, admin_web, populated):
        entry = AuditLogEntry.objects.get()
        url = f"/admin/agents/auditlogentry/{entry.pk}/delete/"
        assert admin_web.get(url).status_code == 403
        assert admin_web.post(url, {"post": "yes"}).status_code == 403
        assert AuditLogEntry.objects.filter(pk=entry.pk).exists()

    def test_bulk_delete_action_is_not_offered(self, admin_web, populated):
        response = admin_web.get("/admin/agents/auditlogentry/")
        assert b"delete_selected" not in response.content
