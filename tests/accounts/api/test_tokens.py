"""The tokens API (API.md §2): ``GET/POST /api/v1/auth/tokens`` and
``DELETE /api/v1/auth/tokens/{id}``."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from tests.conftest import ALL_SCOPES, problem, session

TOKENS = "/api/v1/auth/tokens"
ME = "/api/v1/auth/me"
TOKEN_KEYS = {"id", "name", "prefix", "scopes", "expires_at", "last_used_at", "created_at"}


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def new_token(user, name="t", scopes=None, **kwargs):
    token, raw = token_create(user=user, name=name, scopes=scopes or ALL_SCOPES, **kwargs)
    return token, raw


@pytest.mark.django_db
class TestList:
    def test_lists_only_the_callers_tokens(self, api, user, make_user):
        # given two tokens of alice (plus the one the client uses) and two of bob
        mine = [new_token(user, name=f"mine{i}") for i in range(2)]
        bob = make_user("bob")
        theirs = [new_token(bob, name=f"bob{i}") for i in range(2)]
        client = api(user)
        # when
        response = client.get(TOKENS)
        # then
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"data", "meta"}
        ids = {t["id"] for t in body["data"]}
        assert ids == {str(pk) for pk in ApiToken.objects.filter(user=user).values_list("pk", flat=True)}
        assert len(ids) == 3
        assert not ids & {str(t.pk) for t, _raw in theirs}
        assert {t.pk for t, _raw in mine} <= {uuid.UUID(i) for i in ids}
        assert body["meta"] == {"total": 3, "limit": 50, "offset": 0, "has_more": False,
                                "next_cursor": None, "prev_cursor": None}

    def test_each_item_has_exact_keys_and_no_secret(self, user):
        token, raw = new_token(user, name="ci", scopes=["agents:run", "agents:read"],
                               expires_at=timezone.now() + timedelta(days=1))
        response = session(user).get(TOKENS)
        [item] = response.json()["data"]
        assert set(item) == TOKEN_KEYS
        assert item["id"] == str(token.pk)
        assert item["name"] == "ci"
        assert item["prefix"] == raw[:10]
        assert item["scopes"] == ["agents:read", "agents:run"]
        assert item["expires_at"].endswith("Z")
        assert item["last_used_at"] is None
        assert item["created_at"].endswith("Z")
        assert raw.encode() not in response.content
        assert token.key_hash.encode() not in response.content
        assert b"key_hash" not in response.content and b'"token"' not in response.content

    def test_callers_own_token_shows_last_used_at(self, user, make_token):
        raw = make_token(user)
        [item] = bearer(raw).get(TOKENS).json()["data"]
        assert item["last_used_at"] is not None and item["last_used_at"].endswith("Z")

    def test_empty_list(self, user):
        body = session(user).get(TOKENS).json()
        assert body == {"data": [], "meta": {"total": 0, "limit": 50, "offset": 0, "has_more": False,
                                             "next_cursor": None, "prev_cursor": None}}

    def test_default_order_is_newest_first(self, user):
        tokens = [new_token(user, name=f"t{i}")[0] for i in range(3)]
        for i, token in enumerate(tokens):  # distinct creation times
            ApiToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(minutes=10 - i))
        names = [t["name"] for t in session(user).get(TOKENS).json()["data"]]
        assert names == ["t2", "t1", "t0"]

    def test_limit_offset_pagination(self, user):
        for i in range(5):
            new_token(user, name=f"t{i}")
        client = session(user)
        first = client.get(TOKENS, {"limit": 2}).json()
        assert len(first["data"]) == 2
        assert first["meta"]["total"] == 5 and first["meta"]["has_more"] is True
        assert first["meta"]["next_cursor"] and first["meta"]["prev_cursor"] is None
        last = client.get(TOKENS, {"limit": 2, "offset": 4}).json()
        assert len(last["data"]) == 1
        assert last["meta"]["offset"] == 4 and last["meta"]["has_more"] is False
        assert last["meta"]["next_cursor"] is None

    def test_cursor_pagination_walks_every_token_once(self, user):
        for i in range(5):
            new_token(user, name=f"t{i}")
        client = session(user)
        seen, params = [], {"limit": 2}
        while True:
            body = client.get(TOKENS, params).json()
            seen += [t["id"] for t in body["data"]]
            if not body["meta"]["next_cursor"]:
                break
            params = {"limit": 2, "cursor": body["meta"]["next_cursor"]}
        assert len(seen) == len(set(seen)) == 5

    @pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at"])
    def test_sort(self, user, sort):
        for name in ["b", "c", "a"]:
            new_token(user, name=name)
        names = [t["name"] for t in session(user).get(TOKENS, {"sort": sort}).json()["data"]]
        if "name" in sort:
            assert names == sorted(names, reverse=sort.startswith("-"))
        assert sorted(names) == ["a", "b", "c"]

    @pytest.mark.parametrize("sort", ["last_used_at", "-last_used_at"])
    def test_nullable_last_used_at_is_not_a_sort_field(self, user, sort):
        # keyset cursors need a non-null key, so last_used_at cannot be sorted on
        body = problem(session(user).get(TOKENS, {"sort": sort}), 400, "validation_error")
        assert body["errors"] == {"sort": ["Unknown sort field. Choose from: created_at, name."]}

    def test_cursor_pagination_sorted_by_name_walks_every_token_once(self, user):
        for name in ["b", "a", "c", "a"]:  # a tie on the sort key too
            new_token(user, name=name)
        client = session(user)
        seen, params = [], {"limit": 1, "sort": "name"}
        for _ in range(6):
            body = client.get(TOKENS, params).json()
            seen += [(t["name"], t["id"]) for t in body["data"]]
            if not body["meta"]["next_cursor"]:
                break
            params = {**params, "cursor": body["meta"]["next_cursor"]}
        assert [name for name, _id in seen] == ["a", "a", "b", "c"]
        assert len({pk for _name, pk in seen}) == 4

    def test_unknown_sort_is_400(self, user):
        body = problem(session(user).get(TOKENS, {"sort": "key_hash"}), 400, "validation_error")
        assert "sort" in body["errors"]

    def test_limit_above_max_is_400(self, user):
        body = problem(session(user).get(TOKENS, {"limit": 501}), 400, "validation_error")
        assert "limit" in body["errors"]

    def test_malformed_cursor_is_400(self, user):
        problem(session(user).get(TOKENS, {"cursor": "garbage!"}), 400, "invalid_cursor")

    def test_anonymous_is_401(self, api):
        problem(api().get(TOKENS), 401, "not_authenticated")


@pytest.mark.django_db
class TestCreate:
    def test_create_returns_raw_value_once(self, api, user):
        # when
        response = api(user).post(TOKENS, {"name": "deploy", "scopes": ["agents:read", "agents:run"]})
        # then
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"data"}
        data = body["data"]
        assert set(data) == TOKEN_KEYS | {"token"}
        raw = data["token"]
        assert raw.startswith("agt_") and len(raw) > 30
        assert data["prefix"] == raw[:10]
        assert data["name"] == "deploy"
        assert data["scopes"] == ["agents:read", "agents:run"]
        assert data["expires_at"] is None and data["last_used_at"] is None
        stored = ApiToken.objects.get(pk=data["id"])
        assert stored.user == user
        assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        # and it is never shown again
        listing = api(user).get(TOKENS)
        assert raw.encode() not in listing.content

    def test_created_token_authenticates_with_its_scopes(self, user):
        raw = session(user).post(TOKENS, {"name": "n", "scopes": ["agents:run"]}).json()["data"]["token"]
        me = bearer(raw).get(ME)
        assert me.status_code == 200
        assert me.json()["data"]["scopes"] == ["agents:run"]
        assert me.json()["data"]["token"]["name"] == "n"
        problem(bearer(raw).get("/api/v1/agents"), 403, "permission_denied")

    def test_scopes_are_deduplicated_and_ordered(self, user):
        data = session(user).post(TOKENS, {"name": "n", "scopes": [
            "agents:run", "agents:read", "agents:run"]}).json()["data"]
        assert data["scopes"] == ["agents:read", "agents:run"]

    def test_future_expiry_is_kept(self, user):
        expires = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
        response = session(user).post(TOKENS, {"name": "n", "scopes": ["agents:read"],
                                               "expires_at": expires.isoformat()})
        assert response.status_code == 201, response.content
        assert response.json()["data"]["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert ApiToken.objects.get().expires_at == expires

    def test_name_is_required(self, user):
        body = problem(session(user).post(TOKENS, {"scopes": ["agents:read"]}), 400, "validation_error")
        assert body["errors"] == {"name": ["This field is required."]}
        assert not ApiToken.objects.exists()

    @pytest.mark.parametrize("name", ["", "x" * 101])
    def test_name_must_be_1_to_100_characters(self, user, name):
        body = problem(session(user).post(TOKENS, {"name": name, "scopes": ["agents:read"]}),
                       400, "validation_error")
        assert list(body["errors"]) == ["name"]
        assert not ApiToken.objects.exists()

    def test_scopes_are_required(self, user):
        body = problem(session(user).post(TOKENS, {"name": "n"}), 400, "validation_error")
        assert list(body["errors"]) == ["scopes"]

    def test_empty_scopes_is_400(self, user):
        body = problem(session(user).post(TOKENS, {"name": "n", "scopes": []}), 400, "validation_error")
        assert list(body["errors"]) == ["scopes"]
        assert not ApiToken.objects.exists()

    def test_unknown_scope_is_400(self, user):
        body = problem(session(user).post(TOKENS, {"name": "n", "scopes": ["agents:read", "admin:all"]}),
                       400, "validation_error")
        assert body["errors"], body
        assert all(field.startswith("scopes") for field in body["errors"]), body["errors"]
        assert "admin:all" in str(body["errors"])
        assert not ApiToken.objects.exists()

    def test_scopes_must_be_a_list(self, user):
        body = problem(session(user).post(TOKENS, {"name": "n", "scopes": "agents:read"}), 400, "validation_error")
        assert list(body["errors"]) == ["scopes"]

    def test_expiry_in_the_past_is_400(self, user):
        past = (timezone.now() - timedelta(minutes=1)).isoformat()
        body = problem(session(user).post(TOKENS, {"name": "n", "scopes": ["agents:read"], "expires_at": past}),
                       400, "validation_error")
        assert list(body["errors"]) == ["expires_at"]
        assert not ApiToken.objects.exists()

    def test_malformed_expiry_is_400(self, user):
        body = problem(session(user).post(TOKENS, {"name": "n", "scopes": ["agents:read"], "expires_at": "soon"}),
                       400, "validation_error")
        assert list(body["errors"]) == ["expires_at"]

    def test_token_cannot_create_token_with_more_scopes(self, api, user):
        # given a read-only token
        client = api(user, ["agents:read"])
        # when it asks for write too
        body = problem(client.post(TOKENS, {"name": "escalate", "scopes": ["agents:read", "agents:write"]}),
                       403, "permission_denied")
        # then nothing was created
        assert "scopes" in body["detail"]
        assert not ApiToken.objects.filter(name="escalate").exists()
        assert ApiToken.objects.filter(user=user).count() == 1

    def test_token_can_create_token_with_a_subset_of_its_scopes(self, api, user):
        client = api(user, ["agents:read", "agents:run"])
        response = client.post(TOKENS, {"name": "narrow", "scopes": ["agents:read"]})
        assert response.status_code == 201, response.content
        assert ApiToken.objects.get(name="narrow").scopes == ["agents:read"]

    def test_token_can_create_token_with_the_same_scopes(self, api, user):
        client = api(user, ["agents:read", "agents:run"])
        assert client.post(TOKENS, {"name": "same", "scopes": ["agents:run", "agents:read"]}).status_code == 201

    def test_session_can_create_token_with_any_scopes(self, user):
        response = session(user).post(TOKENS, {"name": "all", "scopes": ALL_SCOPES})
        assert response.status_code == 201
        assert set(response.json()["data"]["scopes"]) == set(ALL_SCOPES)

    def test_anonymous_is_401(self, api):
        problem(api().post(TOKENS, {"name": "n", "scopes": ["agents:read"]}), 401, "not_authenticated")
        assert not ApiToken.objects.exists()


@pytest.mark.django_db
class TestDelete:
    def test_delete_revokes_token(self, api, user, make_token):
        # given a second token of alice's that works
        raw = make_token(user, name="victim")
        victim = ApiToken.objects.get(name="victim")
        assert bearer(raw).get(ME).status_code == 200
        # when
        response = api(user).delete(f"{TOKENS}/{victim.pk}")
        # then
        assert response.status_code == 204
        assert response.content == b""
        assert not ApiToken.objects.filter(pk=victim.pk).exists()
        problem(bearer(raw).get(ME), 401, "not_authenticated")

    def test_trailing_slash_is_tolerated(self, user):
        token, _raw = new_token(user)
        assert session(user).delete(f"{TOKENS}/{token.pk}/").status_code == 204

    def test_token_can_revoke_itself(self, user, make_token):
        raw = make_token(user)
        token = ApiToken.objects.get()
        client = bearer(raw)
        assert client.delete(f"{TOKENS}/{token.pk}").status_code == 204
        problem(client.get(ME), 401, "not_authenticated")

    def test_deleting_another_users_token_is_404(self, api, user, make_user):
        bob = make_user("bob")
        token, raw = new_token(bob)
        problem(api(user).delete(f"{TOKENS}/{token.pk}"), 404, "not_found")
        assert ApiToken.objects.filter(pk=token.pk).exists()
        assert bearer(raw).get(ME).status_code == 200

    def test_deleting_twice_is_404(self, user):
        token, _raw = new_token(user)
        client = session(user)
        assert client.delete(f"{TOKENS}/{token.pk}").status_code == 204
        problem(client.delete(f"{TOKENS}/{token.pk}"), 404, "not_found")

    @pytest.mark.parametrize("ref", ["not-a-uuid", "123", "agt_abc"])
    def test_non_uuid_id_is_404(self, user, ref):
        new_token(user)
        problem(session(user).delete(f"{TOKENS}/{ref}"), 404, "not_found")
        assert ApiToken.objects.count() == 1

    def test_unknown_uuid_is_404(self, user):
        problem(session(user).delete(f"{TOKENS}/{uuid.uuid4()}"), 404, "not_found")

    def test_anonymous_is_401(self, api, user):
        token, _raw = new_token(user)
        problem(api().delete(f"{TOKENS}/{token.pk}"), 401, "not_authenticated")
        assert ApiToken.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_token_list_queries_do_not_grow_with_the_number_of_tokens(user, django_assert_max_num_queries):
    for i in range(40):
        token_create(user=user, name=f"t{i}", scopes=ALL_SCOPES)
    client = session(user)
    with django_assert_max_num_queries(4):  # session, user, count, page
        assert len(client.get(TOKENS, {"limit": 500}).json()["data"]) == 40
