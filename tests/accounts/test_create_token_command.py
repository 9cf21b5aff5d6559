"""``manage.py create_token`` (API.md §8)."""

import hashlib
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from accounts.models import ApiToken, Scope
from tests.conftest import problem

RAW_RE = re.compile(r"^agt_[A-Za-z0-9_-]{40,}$")


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def last_line(text):
    return text.rstrip("\n").splitlines()[-1]


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.django_db
class TestCreateToken:
    def test_prints_raw_token_alone_on_last_line(self, user):
        # when
        out, err = run("--user", "alice", "--scopes", "agents:read,agents:run", "--name", "N")
        # then
        raw = last_line(out)
        assert RAW_RE.match(raw), out
        assert raw not in err
        token = ApiToken.objects.get()
        assert token.user == user
        assert token.name == "N"
        assert token.scopes == ["agents:read", "agents:run"]
        assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert token.prefix == raw[:10]
        assert token.expires_at is None

    def test_printed_token_works_with_exactly_those_scopes(self, user, make_agent):
        make_agent(user, name="Bot")
        raw = last_line(run("--user", "alice", "--scopes", "agents:read,agents:run", "--name", "N")[0])
        client = bearer(raw)
        me = client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["data"]["scopes"] == ["agents:read", "agents:run"]
        assert me.json()["data"]["token"]["name"] == "N"
        assert client.get("/api/v1/agents").status_code == 200
        problem(client.post("/api/v1/agents", {"name": "New"}), 403, "permission_denied")

    def test_user_by_email_case_insensitive(self, user):
        raw = last_line(run("--user", "ALICE@Example.com", "--scopes", "agents:read")[0])
        assert bearer(raw).get("/api/v1/auth/me").json()["data"]["username"] == "alice"

    def test_keyword_arguments(self, user):
        out = io.StringIO()
        call_command("create_token", user="alice", scopes="agents:write", name="kw", stdout=out)
        assert RAW_RE.match(last_line(out.getvalue()))
        assert ApiToken.objects.get().scopes == ["agents:write"]

    def test_defaults_all_scopes_and_name_cli(self, user):
        run("--user", "alice")
        token = ApiToken.objects.get()
        assert token.name == "cli"
        assert sorted(token.scopes) == sorted(Scope.values)

    def test_spaces_and_duplicates_in_scopes_are_tolerated(self, user):
        run("--user", "alice", "--scopes", " agents:run , agents:read,agents:run, ")
        assert ApiToken.objects.get().scopes == ["agents:read", "agents:run"]

    def test_each_run_prints_a_new_token(self, user):
        first = last_line(run("--user", "alice")[0])
        second = last_line(run("--user", "alice")[0])
        assert first != second
        assert ApiToken.objects.count() == 2

    def test_unknown_user_is_command_error(self, user):
        with pytest.raises(CommandError, match="nobody"):
            run("--user", "nobody", "--scopes", "agents:read")
        assert not ApiToken.objects.exists()

    def test_inactive_user_is_command_error(self, make_user):
        make_user("ghost", is_active=False)
        with pytest.raises(CommandError):
            run("--user", "ghost")
        assert not ApiToken.objects.exists()

    def test_unknown_scope_is_command_error(self, user):
        with pytest.raises(CommandError, match="agents:delete"):
            run("--user", "alice", "--scopes", "agents:read,agents:delete")
        assert not ApiToken.objects.exists()

    @pytest.mark.parametrize("scopes", ["", ",", " , "])
    def test_empty_scopes_is_command_error(self, user, scopes):
        with pytest.raises(CommandError):
            run("--user", "alice", "--scopes", scopes)
        assert not ApiToken.objects.exists()

    def test_user_is_required(self, db):
        with pytest.raises(CommandError):
            run("--scopes", "agents:read")
