"""The console's API tokens page: create (raw token shown once), list, revoke,
through the same services as ``/api/v1/auth/tokens``."""

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import hash_token, token_create

TOKENS = "/tokens/"
RAW_RE = re.compile(r'value="(agt_[^"]+)"')


def revoke_url(token):
    return f"/tokens/{token.pk}/revoke/"


@pytest.fixture
def client_for(client):
    def log_in(user):
        client.force_login(user)
        return client
    return log_in


def _create(user, name="ci", scopes=("agents:read",), **kwargs):
    token, _raw = token_create(user=user, name=name, scopes=list(scopes), **kwargs)
    return token


# --- the page -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(TOKENS)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/tokens/"


@pytest.mark.django_db
def test_page_lists_only_my_tokens_by_prefix(client_for, user, make_user):
    # given a token of mine and one of another user
    mine = _create(user, "laptop", ["agents:read", "agents:run"], expires_at=timezone.now() + timedelta(days=3))
    theirs = _create(make_user("bob"), "bob's")

    # when
    response = client_for(user).get(TOKENS)

    # then my token is listed with its prefix, scopes and expiry; theirs is not
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(rf'<tr data-token="{re.escape(mine.prefix)}">(.*?)</tr>', html, re.S).group(1)
    assert "laptop" in row and f"<code>{mine.prefix}…</code>" in row
    assert '<span class="badge">agents:read</span>' in row and '<span class="badge">agents:run</span>' in row
    assert "Never" in row  # never used
    assert theirs.prefix not in html and "bob&#x27;s" not in html
    assert not RAW_RE.search(html)
    assert 'href="/tokens/" aria-current="page"' in html


@pytest.mark.django_db
def test_expired_tokens_are_marked(client_for, user):
    token = _create(user, "old", expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    html = client_for(user).get(TOKENS).content.decode()
    assert '<span class="badge badge--failed">expired</span>' in html


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_tokens(client_for, user, django_assert_num_queries):
    client = client_for(user)
    _create(user, "one")
    client.get(TOKENS)  # warm the session
    with django_assert_num_queries(4) as one:  # session, user, count, page
        assert client.get(TOKENS).status_code == 200
    for n in range(12):
        _create(user, f"t{n}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(TOKENS)
    assert response.content.decode().count("<tr data-token=") == 13


# --- creating -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_create_shows_the_raw_token_once_and_it_works_on_the_api(client_for, user):
    client = client_for(user)
    day = timezone.localdate() + timedelta(days=30)

    # when the form is posted (scopes out of order)
    response = client.post(TOKENS, {"name": "CI", "scopes": ["agents:run", "agents:read"],
                                    "expires_on": day.isoformat()})

    # then the token exists as the service makes it: scopes in the catalogue's order, expiring at the day's end
    assert response.status_code == 200
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.scopes) == ("CI", ["agents:read", "agents:run"])
    assert token.expires_at == timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
    # and the raw value is on the page, with a copy button, and is the token whose hash is stored
    html = response.content.decode()
    raw = RAW_RE.search(html).group(1)
    assert hash_token(raw) == token.key_hash and raw.startswith(token.prefix)
    assert 'data-copy="new-token"' in html and 'id="new-token"' in html
    assert "no-store" in response["Cache-Control"]
    # and it is a working API token with those scopes
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    me = api.get("/api/v1/auth/me").json()["data"]
    assert me["scopes"] == ["agents:read", "agents:run"] and me["token"]["name"] == "CI"
    # and the next visit shows only its prefix
    again = client.get(TOKENS).content.decode()
    assert raw not in again and f"<code>{token.prefix}…</code>" in again


@pytest.mark.django_db
def test_create_with_htmx_answers_the_panel_only(client_for, user):
    response = client_for(user).post(TOKENS, {"name": "CI", "scopes": ["agents:read"]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tokens-panel">')
    assert "<html" not in html
    raw = RAW_RE.search(html).group(1)
    token = ApiToken.objects.get(user=user)
    assert hash_token(raw) == token.key_hash and token.expires_at is None


@pytest.mark.django_db
def test_create_without_scopes_shows_the_error_beside_the_scopes(client_for, user):
    response = client_for(user).post(TOKENS, {"name": "CI"})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<fieldset class="field checkbox-group field--invalid" data-field="scopes"', html)
    assert re.search(r'<ul class="errorlist" id="id_scopes_error" role="alert"><li>This field is required.</li>', html)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_with_a_past_day_shows_the_services_error_beside_the_date(client_for, user):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client_for(user).post(TOKENS, {"name": "CI", "scopes": ["agents:read"],
                                              "expires_on": yesterday.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-field="expires_on">.*?<ul class="errorlist" id="id_expires_on_error" role="alert">'
                     r'<li>Must be in the future.</li>', html, re.S)
    assert not ApiToken.objects.exists()
    assert not RAW_RE.search(html)


@pytest.mark.django_db
@pytest.mark.parametrize("fields, field, message", [
    ({"name": "x" * 101, "scopes": ["agents:read"]}, "name", "Ensure this value has at most 100 characters"),
    ({"name": "", "scopes": ["agents:read"]}, "name", "This field is required."),
    ({"name": "ci", "scopes": ["agents:admin"]}, "scopes", "Select a valid choice."),
    ({"name": "ci", "scopes": ["agents:read"], "expires_on": "31/31/2020"}, "expires_on", "Enter a valid date."),
])
def test_bad_input_is_an_error_beside_its_field(client_for, user, fields, field, message):
    response = client_for(user).post(TOKENS, fields)
    assert response.status_code == 200
    assert re.search(rf'id="id_{field}_error" role="alert"><li>{re.escape(message)}', response.content.decode())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_day_past_what_the_database_holds_is_refused(client_for, user, settings):
    # given a time zone behind UTC, where the end of 9999-12-31 is in the year 10000 in UTC
    settings.TIME_ZONE = "America/New_York"
    response = client_for(user).post(TOKENS, {"name": "ci", "scopes": ["agents:read"],
                                              "expires_on": date.max.isoformat()})
    assert re.search(r'id="id_expires_on_error" role="alert"><li>Pick an earlier date.', response.content.decode())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_last_day_is_fine_in_utc(client_for, user):
    client_for(user).post(TOKENS, {"name": "ci", "scopes": ["agents:read"], "expires_on": date.max.isoformat()})
    assert ApiToken.objects.get().expires_at.year == 9999


@pytest.mark.django_db
def test_anonymous_post_creates_nothing(client):
    response = client.post(TOKENS, {"name": "CI", "scopes": ["agents:read"]})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not ApiToken.objects.exists()


# --- revoking -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_revoke_deletes_the_token_and_says_so(client_for, user):
    token = _create(user, "laptop")
    client = client_for(user)

    response = client.post(revoke_url(token), follow=True)

    assert response.redirect_chain == [("/tokens/", 302)]
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert "Token “laptop” revoked" in response.content.decode()


@pytest.mark.django_db
def test_revoking_another_users_token_is_404_and_keeps_it(client_for, user, make_user):
    theirs = _create(make_user("bob"), "bob's")
    response = client_for(user).post(revoke_url(theirs))
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_revoke_needs_a_post(client_for, user):
    token = _create(user)
    assert client_for(user).get(revoke_url(token)).status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_revoke_of_a_malformed_id_is_404(client_for, user):
    assert client_for(user).post("/tokens/not-a-uuid/revoke/").status_code == 404


@pytest.mark.django_db
def test_anonymous_revoke_is_sent_to_login(client, user):
    token = _create(user)
    response = client.post(revoke_url(token))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert ApiToken.objects.filter(pk=token.pk).exists()
