"""Authentication and scopes (API.md §2): the three token header forms, the
session with CSRF, 401s with ``WWW-Authenticate``, expiry, inactive users,
``last_used_at`` touching and hashed storage."""

import hashlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Scope
from agents.models import Agent
from tests.conftest import problem

ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens"
AGENTS = "/api/v1/agents"
FORMS = ["bearer", "token", "x-api-key"]


def client_with(raw, form="bearer"):
    """An APIClient presenting ``raw`` in one of the three header forms."""
    client = APIClient()
    if form == "x-api-key":
        client.credentials(HTTP_X_API_KEY=raw)
    else:
        client.credentials(HTTP_AUTHORIZATION=f"{'Token' if form == 'token' else 'Bearer'} {raw}")
    return client


def assert_unauthenticated(response):
    body = problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    return body


@pytest.mark.django_db
class TestTokenHeaderForms:
    @pytest.mark.parametrize("form", FORMS)
    def test_each_header_form_authenticates(self, user, make_token, form):
        # given
        raw = make_token(user, ["agents:read"])
        # when
        response = client_with(raw, form).get(ME)
        # then
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["id"] == str(user.pk)
        assert data["auth_method"] == "token"
        assert data["scopes"] == ["agents:read"]
        assert data["token"]["id"] == str(ApiToken.objects.get().pk)

    @pytest.mark.parametrize("form", FORMS)
    def test_api_fixture_forms_authenticate(self, api, user, form):
        assert api(user, form=form).get(ME).json()["data"]["username"] == "alice"

    def test_keyword_is_case_insensitive(self, user, make_token):
        raw = make_token(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"bearer {raw}")
        assert client.get(ME).status_code == 200

    def test_surrounding_whitespace_in_x_api_key_is_ignored(self, user, make_token):
        raw = make_token(user)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=f"  {raw} ")
        assert client.get(ME).status_code == 200


@pytest.mark.django_db
class TestAuthenticationFailures:
    def test_missing_credentials_is_401_with_www_authenticate(self, api):
        body = assert_unauthenticated(api().get(ME))
        assert body["instance"] == ME
        assert body["errors"] == {}

    @pytest.mark.parametrize("form", FORMS)
    def test_unknown_token_in_each_form_is_401(self, user, make_token, form):
        make_token(user)  # a real token exists, just not this one
        assert_unauthenticated(client_with("agt_not-a-real-token", form).get(ME))

    @pytest.mark.parametrize("form", FORMS)
    def test_truncated_real_token_is_401(self, user, make_token, form):
        raw = make_token(user)
        assert_unauthenticated(client_with(raw[:-1], form).get(ME))

    def test_expired_token_is_401(self, user, make_token):
        # given a token whose expiry has passed
        raw = make_token(user, expires_at=timezone.now() + timedelta(hours=1))
        ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        # then
        assert_unauthenticated(client_with(raw).get(ME))
        assert ApiToken.objects.get().last_used_at is None

    def test_token_with_future_expiry_works(self, user, make_token):
        raw = make_token(user, expires_at=timezone.now() + timedelta(hours=1))
        response = client_with(raw).get(ME)
        assert response.status_code == 200
        assert response.json()["data"]["token"]["expires_at"].endswith("Z")

    def test_token_of_inactive_user_is_401(self, user, make_token):
        raw = make_token(user)
        user.is_active = False
        user.save(update_fields=["is_active"])
        assert_unauthenticated(client_with(raw).get(ME))

    def test_deleted_token_is_401(self, user, make_token):
        raw = make_token(user)
        ApiToken.objects.all().delete()
        assert_unauthenticated(client_with(raw).get(ME))

    @pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Token", "Token    ", "Bearer two parts"])
    def test_malformed_authorization_header_is_401(self, user, make_token, header):
        make_token(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        body = assert_unauthenticated(client.get(ME))
        assert "Malformed" in body["detail"]

    def test_empty_x_api_key_is_401(self, db):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY="   ")
        assert_unauthenticated(client.get(ME))

    def test_other_authorization_scheme_is_not_a_credential(self, user, make_token):
        # "Basic" is not a token keyword, so the request is simply anonymous
        make_token(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=")
        assert_unauthenticated(client.get(ME))

    def test_bad_token_is_401_even_on_a_list_endpoint(self, db):
        assert_unauthenticated(client_with("agt_bogus").get(AGENTS))
        assert_unauthenticated(client_with("agt_bogus").post(AGENTS, {"name": "x"}))
        assert not Agent.objects.exists()


@pytest.mark.django_db
class TestLastUsedAt:
    def test_first_use_sets_last_used_at(self, user, make_token):
        raw = make_token(user)
        assert ApiToken.objects.get().last_used_at is None
        before = timezone.now()
        client_with(raw).get(ME)
        used = ApiToken.objects.get().last_used_at
        assert used is not None and before <= used <= timezone.now()

    def test_not_rewritten_within_touch_window(self, settings, user, make_token):
        # given a token last used 30 s ago and a 60 s touch window
        settings.AGENTRY_TOKEN_TOUCH_SECONDS = 60
        raw = make_token(user)
        recent = timezone.now() - timedelta(seconds=30)
        ApiToken.objects.update(last_used_at=recent)
        client = client_with(raw)
        # when it is used again, twice
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ME).status_code == 200
            assert client.get(ME).status_code == 200
        # then the stored time did not move and no UPDATE was issued
        assert ApiToken.objects.get().last_used_at == recent
        assert not [q for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]

    def test_rewritten_after_touch_window(self, settings, user, make_token):
        settings.AGENTRY_TOKEN_TOUCH_SECONDS = 60
        raw = make_token(user)
        stale = timezone.now() - timedelta(seconds=61)
        ApiToken.objects.update(last_used_at=stale)
        client_with(raw).get(ME)
        assert ApiToken.objects.get().last_used_at > stale + timedelta(seconds=60)

    def test_consecutive_requests_touch_once(self, settings, user, make_token):
        settings.AGENTRY_TOKEN_TOUCH_SECONDS = 60
        raw = make_token(user)
        client = client_with(raw)
        client.get(ME)
        first = ApiToken.objects.get().last_used_at
        client.get(ME)
        client.get(ME)
        assert ApiToken.objects.get().last_used_at == first

    def test_authentication_is_one_indexed_query_without_order_by(self, user, make_token):
        # given a token whose use was just recorded
        raw = make_token(user)
        client = client_with(raw)
        client.get(ME)
        # when it authenticates again
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ME).status_code == 200
        # then one query read the token and its user by the hash, unsorted
        [query] = queries.captured_queries
        assert "key_hash" in query["sql"] and "ORDER BY" not in query["sql"].upper()

    def test_use_is_written_once_the_response_is_closed(self, user, make_token):
        # given a token never used (the test's transaction keeps its connection
        # open across requests, as Django's test client does)
        raw = make_token(user)
        environ = RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").environ
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            # when the WSGI handler has built the response, not yet closed by the server
            response = WSGIHandler()(environ, lambda status, headers: None)
            # then the use is not written yet
            assert response.status_code == 200
            assert ApiToken.objects.get().last_used_at is None
            # and once the server closes it, it is
            response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        assert ApiToken.objects.get().last_used_at is not None

    def test_failed_authentication_does_not_touch(self, user, make_token):
        raw = make_token(user)
        client_with(raw + "x").get(ME)
        assert ApiToken.objects.get().last_used_at is None


@pytest.mark.django_db
class TestHashedStorage:
    def test_only_sha256_of_raw_value_is_stored(self, user, make_token):
        # given
        raw = make_token(user, name="ci")
        token = ApiToken.objects.get()
        # then
        assert raw.startswith("agt_")
        assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert len(token.key_hash) == 64
        assert token.prefix == raw[:10]
        for field in ApiToken._meta.concrete_fields:
            assert raw not in str(getattr(token, field.attname)), field.name
        assert raw not in str(token)

    def test_raw_value_is_nowhere_in_the_database_row(self, user, make_token):
        raw = make_token(user)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
            rows = cursor.fetchall()
        assert len(rows) == 1
        assert all(raw not in str(value) for value in rows[0])

    def test_each_token_gets_a_distinct_value(self, user, make_token):
        raws = {make_token(user) for _ in range(5)}
        assert len(raws) == 5
        assert ApiToken.objects.values("key_hash").distinct().count() == 5


@pytest.mark.django_db
class TestSessionAuthentication:
    def test_logged_in_session_can_read_me(self, user):
        client = APIClient()
        client.force_login(user)
        response = client.get(ME)
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["auth_method"] == "session"
        assert data["token"] is None
        assert data["scopes"] == sorted(Scope.values)

    def test_password_login_session_can_read_me(self, user):
        client = APIClient(enforce_csrf_checks=True)
        assert client.login(username="alice", password="pw-123456789")
        assert client.get(ME).json()["data"]["auth_method"] == "session"

    def test_session_post_without_csrf_token_is_403(self, user):
        # given a real password login with CSRF enforced
        client = APIClient(enforce_csrf_checks=True)
        assert client.login(username="alice", password="pw-123456789")
        # when
        response = client.post(TOKENS, {"name": "n", "scopes": ["agents:read"]})
        # then
        body = problem(response, 403, "permission_denied")
        assert "CSRF" in body["detail"]
        assert not ApiToken.objects.exists()

    def test_session_post_without_csrf_cannot_create_agent(self, user):
        client = APIClient(enforce_csrf_checks=True)
        client.login(username="alice", password="pw-123456789")
        problem(client.post(AGENTS, {"name": "Bot"}), 403, "permission_denied")
        assert not Agent.objects.exists()

    def test_session_delete_without_csrf_token_is_403(self, user, make_token):
        make_token(user)
        token = ApiToken.objects.get()
        client = APIClient(enforce_csrf_checks=True)
        client.login(username="alice", password="pw-123456789")
        problem(client.delete(f"{TOKENS}/{token.pk}"), 403, "permission_denied")
        assert ApiToken.objects.filter(pk=token.pk).exists()

    def test_session_post_with_csrf_token_is_accepted(self, user):
        client = APIClient(enforce_csrf_checks=True)
        client.login(username="alice", password="pw-123456789")
        secret = "a" * 32
        client.cookies[settings.CSRF_COOKIE_NAME] = secret
        response = client.post(TOKENS, {"name": "n", "scopes": ["agents:read"]}, HTTP_X_CSRFTOKEN=secret)
        assert response.status_code == 201, response.content
        assert ApiToken.objects.filter(user=user, name="n").count() == 1

    def test_token_requests_need_no_csrf(self, user, make_token):
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")
        assert client.post(TOKENS, {"name": "n", "scopes": ["agents:read"]}).status_code == 201

    def test_logged_out_session_is_401(self, user):
        client = APIClient()
        client.force_login(user)
        client.logout()
        assert_unauthenticated(client.get(ME))


@pytest.mark.django_db
class TestScopes:
    def test_read_only_token_can_list_agents(self, api, user, make_agent):
        make_agent(user, name="Bot")
        response = api(user, ["agents:read"]).get(AGENTS)
        assert response.status_code == 200
        assert [a["name"] for a in response.json()["data"]] == ["Bot"]

    def test_read_only_token_cannot_create_agent(self, api, user):
        body = problem(api(user, ["agents:read"]).post(AGENTS, {"name": "Bot"}), 403, "permission_denied")
        assert "agents:write" in body["detail"]
        assert not Agent.objects.exists()

    def test_read_only_token_cannot_change_own_agent(self, api, user, make_agent):
        agent = make_agent(user, name="Bot")
        problem(api(user, ["agents:read"]).patch(f"{AGENTS}/{agent.pk}", {"name": "X"}), 403, "permission_denied")
        agent.refresh_from_db()
        assert agent.name == "Bot"

    @pytest.mark.parametrize("scopes", [["agents:write"], ["agents:run"], ["agents:write", "agents:run"]])
    def test_token_without_read_scope_cannot_list_agents(self, api, user, make_agent, scopes):
        make_agent(user)
        body = problem(api(user, scopes).get(AGENTS), 403, "permission_denied")
        assert "agents:read" in body["detail"]

    def test_token_without_read_scope_cannot_get_agent(self, api, user, make_agent):
        agent = make_agent(user)
        problem(api(user, ["agents:write"]).get(f"{AGENTS}/{agent.pk}"), 403, "permission_denied")

    def test_write_only_token_can_create_agent(self, api, user):
        assert api(user, ["agents:write"]).post(AGENTS, {"name": "Bot"}).status_code == 201
        assert Agent.objects.get().owner == user

    def test_session_has_every_scope(self, user):
        client = APIClient()
        client.force_login(user)
        assert client.post(AGENTS, {"name": "Bot"}).status_code == 201
        assert client.get(AGENTS).status_code == 200

    def test_scopes_do_not_limit_token_management_or_me(self, api, user):
        # /auth/me and /auth/tokens only need authentication (API.md §2)
        client = api(user, ["agents:run"])
        assert client.get(ME).status_code == 200
        assert client.get(TOKENS).status_code == 200
