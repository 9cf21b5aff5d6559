"""LLM providers (API.md §3): installation-wide credentials that staff manage
and every caller may read, with a write-only API key that never leaves the
server — not in a response, an error, a log line or the admin."""

import logging
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.models import Scope
from agents.models import Provider
from core import crypto
from executions.selectors import UnknownProvider, resolve_provider
from tests.conftest import META_KEYS, problem
from tests.fakes.llm_server import Reply

PROVIDERS = "/api/v1/providers"
KEY = "sk-live-SECRET-0123456789abcdef"
OTHER_KEY = "sk-live-OTHER-fedcba9876543210"
UNKNOWN_ID = "0d9c3a52-3f1e-4d55-9a57-6c1f1b2e8a41"
PUBLIC_URL = "https://93.184.216.34/v1"  # a literal public address: no DNS needed
MODELS = [{"name": "gpt-4o-mini", "input_per_million": 0.15, "output_per_million": 0.6},
          {"name": "gpt-4o", "input_per_million": 2.5, "output_per_million": 10}]
RESPONSE_KEYS = {"id", "name", "kind", "base_url", "has_api_key", "models", "created_at", "updated_at"}


class KeyCheckingClient:
    """Wraps an API client: every response it gets must be free of both keys."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name not in ("get", "post", "patch", "put", "delete"):
            return attribute

        def call(*args, **kwargs):
            response = attribute(*args, **kwargs)
            for secret in (KEY, OTHER_KEY):
                assert secret.encode() not in response.content, f"{name} {args[0]} leaked an API key"
            return response
        return call


@pytest.fixture(autouse=True)
def _no_private_hosts(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []


@pytest.fixture(autouse=True)
def _keys_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        message = record.getMessage()
        assert KEY not in message and OTHER_KEY not in message, message


@pytest.fixture
def staff(make_user):
    return make_user("root", is_staff=True)


@pytest.fixture
def client_for(api):
    """``client_for(user, scopes=None)`` → a key-checking API client."""
    return lambda user=None, scopes=None: KeyCheckingClient(api(user, scopes))


@pytest.fixture
def admin_api(client_for, staff):
    return client_for(staff)


@pytest.fixture
def make_provider(admin_api):
    def make(name="openai-prod", **fields):
        body = {"name": name, "kind": "openai", "base_url": PUBLIC_URL, "api_key": KEY, "models": MODELS} | fields
        response = admin_api.post(PROVIDERS, body)
        assert response.status_code == 201, response.content
        return response.json()["data"]
    return make


def _row(data) -> Provider:
    return Provider.objects.get(pk=data["id"])


@pytest.mark.django_db
class TestCreate:
    def test_staff_creates_provider(self, admin_api, staff, caplog):
        # when
        response = admin_api.post(PROVIDERS, {"name": "openai-prod", "kind": "openai", "base_url": PUBLIC_URL,
                                              "api_key": KEY, "models": MODELS})
        # then
        assert response.status_code == 201, response.content
        data = response.json()["data"]
        assert set(data) == RESPONSE_KEYS
        assert uuid.UUID(data["id"])
        assert data["created_at"].endswith("Z") and data["updated_at"].endswith("Z")
        assert {k: v for k, v in data.items() if k not in ("id", "created_at", "updated_at")} == {
            "name": "openai-prod", "kind": "openai", "base_url": PUBLIC_URL, "has_api_key": True,
            "models": [{"name": "gpt-4o-mini", "input_per_million": 0.15, "output_per_million": 0.6},
                       {"name": "gpt-4o", "input_per_million": 2.5, "output_per_million": 10.0}]}
        row = _row(data)
        assert row.created_by == staff
        assert row.api_key_ciphertext and row.api_key_ciphertext != KEY and KEY not in row.api_key_ciphertext
        assert crypto.decrypt(row.api_key_ciphertext) == KEY
        logged = [r.getMessage() for r in caplog.records if r.name == "agentry.providers"]
        assert logged == [f"Provider openai-prod ({row.pk}) created by {staff.email} with token 'test': "
                          "name, kind, base_url, models, api_key set"]

    def test_minimal_provider_has_defaults(self, admin_api):
        response = admin_api.post(PROVIDERS, {"name": "local.llm_1", "kind": "anthropic",
                                              "models": [{"name": "claude-x"}]})
        assert response.status_code == 201, response.content
        data = response.json()["data"]
        assert (data["base_url"], data["has_api_key"]) == ("", False)
        assert data["models"] == [{"name": "claude-x", "input_per_million": 0.0, "output_per_million": 0.0}]
        assert _row(data).api_key_ciphertext == ""

    def test_echo_provider_needs_nothing_else(self, admin_api):
        response = admin_api.post(PROVIDERS, {"name": "offline", "kind": "echo"})
        assert response.status_code == 201, response.content
        assert response.json()["data"]["models"] == []

    @pytest.mark.parametrize("body,field", [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "ünïcode"}, "name"),
        ({"name": ".hidden"}, "name"),
        ({"name": "6f1c2f1e-8b8e-4a8f-9d0e-2b7c1a3e4f50"}, "name"),
        ({"name": 42}, "name"),
        ({"name": None}, "name"),
        ({"kind": "gpt"}, "kind"),
        ({"kind": None}, "kind"),
        ({"base_url": "ftp://93.184.216.34/"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "https://user:pw@93.184.216.34/v1"}, "base_url"),
        ({"base_url": "https://93.184.216.34/v1#frag"}, "base_url"),
        ({"base_url": "https://93.184.216.34/" + "a" * 500}, "base_url"),
        ({"base_url": 5}, "base_url"),
        ({"kind": "echo", "base_url": PUBLIC_URL}, "base_url"),
        ({"api_key": 12345}, "api_key"),
        ({"api_key": "k" * 4097}, "api_key"),
        ({"models": "gpt-4o"}, "models"),
        ({"models": [{"name": f"m{i}"} for i in range(201)]}, "models"),
        ({"models": ["gpt-4o"]}, "models[0]"),
        ({"models": [{"input_per_million": 1}]}, "models[0].name"),
        ({"models": [{"name": ""}]}, "models[0].name"),
        ({"models": [{"name": "a"}, {"name": "a"}]}, "models[1].name"),
        ({"models": [{"name": "a", "input_per_million": -1}]}, "models[0].input_per_million"),
        ({"models": [{"name": "a", "output_per_million": "1.5"}]}, "models[0].output_per_million"),
        ({"models": [{"name": "a", "output_per_million": True}]}, "models[0].output_per_million"),
        ({"models": [{"name": "a", "output_per_million": 10 ** 400}]}, "models[0].output_per_million"),
        ({"models": [{"name": {"x": 1}}, {"name": {"x": 1}}]}, "models[1].name"),
        ({"models": [{"name": "a", "price": 1}]}, "models[0].price"),
        ({"apikey": KEY}, "apikey"),
    ])
    def test_validation(self, admin_api, body, field):
        full = {"name": "p1", "kind": "openai", "api_key": KEY} | body
        response = problem(admin_api.post(PROVIDERS, full), 400, "validation_error")
        assert field in response["errors"], response
        assert not Provider.objects.exists()

    @pytest.mark.parametrize("missing", ["name", "kind"])
    def test_name_and_kind_are_required(self, admin_api, missing):
        body = {"name": "p1", "kind": "openai"}
        del body[missing]
        response = problem(admin_api.post(PROVIDERS, body), 400, "validation_error")
        assert response["errors"] == {missing: ["This field is required."]}

    def test_body_must_be_an_object(self, admin_api):
        problem(admin_api.post(PROVIDERS, [{"name": "p1"}], format="json"), 400, "validation_error")

    @pytest.mark.parametrize("name", ["echo", "openai", "anthropic", "OpenAI", "ECHO"])
    def test_builtin_names_are_refused(self, admin_api, name):
        response = problem(admin_api.post(PROVIDERS, {"name": name, "kind": "openai", "api_key": KEY}),
                           400, "validation_error")
        assert "built-in" in response["errors"]["name"][0]

    @pytest.mark.parametrize("name", ["openai-prod", "OpenAI-Prod"])
    def test_duplicate_name_is_409(self, admin_api, make_provider, name):
        make_provider("openai-prod")
        response = problem(admin_api.post(PROVIDERS, {"name": name, "kind": "anthropic", "api_key": OTHER_KEY}),
                           409, "name_taken")
        assert response["errors"] == {"name": ["Already in use."]}
        assert Provider.objects.count() == 1


@pytest.mark.django_db
class TestPrivateBaseUrl:
    @pytest.mark.parametrize("url", ["http://127.0.0.1:1234/v1", "http://10.0.0.5/v1", "http://[::1]/",
                                     "http://169.254.169.254/latest", "http://100.64.1.1/v1",
                                     "http://localhost:11434/v1"])
    def test_private_base_url_is_refused(self, admin_api, url):
        response = problem(admin_api.post(PROVIDERS, {"name": "local", "kind": "openai", "base_url": url,
                                                      "api_key": KEY}), 400, "validation_error")
        assert list(response["errors"]) == ["base_url"]
        assert "AGENTRY_ALLOWED_PRIVATE_HOSTS" in response["errors"]["base_url"][0]
        assert not Provider.objects.exists()

    def test_unresolvable_host_is_refused(self, admin_api):
        response = problem(admin_api.post(PROVIDERS, {"name": "local", "kind": "openai",
                                                      "base_url": "https://llm.nothing-here.invalid/v1"}),
                           400, "validation_error")
        assert "does not resolve" in response["errors"]["base_url"][0]

    @pytest.mark.parametrize("url", ["http://127.0.0.1:1234/v1", "http://10.0.0.5/v1", "http://[::1]/",
                                     "http://localhost:11434/v1"])
    def test_allowed_private_hosts_are_accepted(self, admin_api, settings, url):
        settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "10.0.0.0/8", "::1"]
        response = admin_api.post(PROVIDERS, {"name": "local", "kind": "openai", "base_url": url})
        assert response.status_code == 201, response.content
        assert response.json()["data"]["base_url"] == url

    def test_patch_to_a_private_url_is_refused(self, admin_api, make_provider):
        data = make_provider()
        response = problem(admin_api.patch(f"{PROVIDERS}/{data['id']}", {"base_url": "http://10.0.0.5/v1"}),
                           400, "validation_error")
        assert "base_url" in response["errors"]
        assert _row(data).base_url == PUBLIC_URL

    def test_unchanged_base_url_is_not_checked_again(self, admin_api, make_provider, settings):
        # given a provider whose address was allowed when it was set
        settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
        data = make_provider(base_url="http://127.0.0.1:1234/v1")
        settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []
        # when the full representation is sent back with another name
        response = admin_api.patch(f"{PROVIDERS}/{data['id']}", data | {"name": "renamed"})
        # then only the change counts
        assert response.status_code == 200, response.content
        assert response.json()["data"]["name"] == "renamed"


@pytest.mark.django_db
class TestRead:
    def test_any_reader_lists_providers_by_name(self, client_for, make_user, make_provider):
        make_provider("zeta", kind="anthropic", base_url="", models=[])
        make_provider("alpha")
        reader = client_for(make_user("bob"), scopes=[Scope.AGENTS_READ])
        body = reader.get(PROVIDERS).json()
        assert set(body) == {"data", "meta"} and set(body["meta"]) == META_KEYS
        assert [p["name"] for p in body["data"]] == ["alpha", "zeta"]
        assert body["meta"]["total"] == 2 and body["meta"]["has_more"] is False
        assert body["data"][1] | {"id": None, "created_at": None, "updated_at": None} == {
            "id": None, "name": "zeta", "kind": "anthropic", "base_url": "", "has_api_key": True, "models": [],
            "created_at": None, "updated_at": None}

    def test_sort_filter_and_pages(self, client_for, staff, make_provider):
        for name, kind in [("b", "openai"), ("a", "anthropic"), ("c", "openai")]:
            make_provider(name, kind=kind, base_url="")
        client = client_for(staff)
        newest_first = client.get(PROVIDERS, {"sort": "-created_at"}).json()["data"]
        assert [p["name"] for p in newest_first] == ["c", "a", "b"]
        assert [p["name"] for p in client.get(PROVIDERS, {"kind": "openai"}).json()["data"]] == ["b", "c"]
        first = client.get(PROVIDERS, {"limit": 2}).json()
        assert [p["name"] for p in first["data"]] == ["a", "b"] and first["meta"]["has_more"] is True
        second = client.get(PROVIDERS, {"limit": 2, "cursor": first["meta"]["next_cursor"]}).json()
        assert [p["name"] for p in second["data"]] == ["c"] and second["meta"]["has_more"] is False

    @pytest.mark.parametrize("params", [{"kind": "gpt"}, {"sort": "base_url"}, {"limit": 501}])
    def test_bad_list_parameters(self, client_for, staff, params):
        response = problem(client_for(staff).get(PROVIDERS, params), 400, "validation_error")
        assert set(response["errors"]) == set(params)

    def test_list_queries_do_not_grow(self, client_for, staff, django_assert_max_num_queries):
        Provider.objects.bulk_create([Provider(name=f"p{i:02d}", kind="openai", api_key_ciphertext=crypto.encrypt(KEY),
                                               models=MODELS) for i in range(40)])
        client = client_for(staff)
        with django_assert_max_num_queries(4):  # token, count, page (+ slack)
            body = client.get(PROVIDERS, {"limit": 500}).json()
        assert len(body["data"]) == 40 and all(p["has_api_key"] for p in body["data"])

    def test_get_by_id_and_by_name(self, client_for, make_user, make_provider):
        data = make_provider()
        reader = client_for(make_user("bob"), scopes=[Scope.AGENTS_READ])
        assert reader.get(f"{PROVIDERS}/{data['id']}").json() == {"data": data}
        assert reader.get(f"{PROVIDERS}/openai-prod/").json() == {"data": data}

    @pytest.mark.parametrize("ref", [UNKNOWN_ID, "nope", "%00", "a b"])
    def test_unknown_provider_is_404(self, client_for, staff, ref):
        problem(client_for(staff).get(f"{PROVIDERS}/{ref}"), 404, "not_found")
        problem(client_for(staff).patch(f"{PROVIDERS}/{ref}", {"name": "x"}), 404, "not_found")
        problem(client_for(staff).delete(f"{PROVIDERS}/{ref}"), 404, "not_found")
        problem(client_for(staff).post(f"{PROVIDERS}/{ref}/test", {}), 404, "not_found")


@pytest.mark.django_db
class TestUpdate:
    def test_patch_changes_fields_and_keeps_key(self, admin_api, make_provider, caplog):
        # given a provider last changed a minute ago
        data = make_provider()
        row = _row(data)
        backdated = row.updated_at - timedelta(minutes=1)
        Provider.objects.filter(pk=row.pk).update(updated_at=backdated)
        # when
        response = admin_api.patch(f"{PROVIDERS}/{data['id']}", {"name": "openai-main", "models": MODELS[:1]})
        # then
        assert response.status_code == 200, response.content
        updated = response.json()["data"]
        assert updated == data | {"name": "openai-main", "models": [MODELS[0]], "updated_at": updated["updated_at"]}
        after = _row(data)
        assert after.updated_at > backdated
        assert after.api_key_ciphertext == row.api_key_ciphertext
        assert caplog.records[-1].getMessage().endswith(": name, models")

    @pytest.mark.parametrize("cleared", ["", None])
    def test_patch_clears_key(self, admin_api, make_provider, cleared, caplog):
        data = make_provider()
        response = admin_api.patch(f"{PROVIDERS}/{data['id']}", {"api_key": cleared})
        assert response.status_code == 200, response.content
        assert response.json()["data"]["has_api_key"] is False
        assert _row(data).api_key_ciphertext == ""
        assert caplog.records[-1].getMessage().endswith(": api_key cleared")

    def test_patch_replaces_key(self, admin_api, make_provider):
        data = make_provider()
        response = admin_api.patch(f"{PROVIDERS}/{data['id']}", {"api_key": f"  {OTHER_KEY}\n"})
        assert response.status_code == 200, response.content
        assert response.json()["data"]["has_api_key"] is True
        assert crypto.decrypt(_row(data).api_key_ciphertext) == OTHER_KEY

    def test_switching_to_echo_drops_the_base_url(self, admin_api, make_provider):
        data = make_provider()
        response = admin_api.patch(f"{PROVIDERS}/{data['id']}", {"kind": "echo"})
        assert response.status_code == 200, response.content
        assert (response.json()["data"]["kind"], response.json()["data"]["base_url"]) == ("echo", "")

    def test_rename_to_taken_name_is_409(self, admin_api, make_provider):
        make_provider("one")
        two = make_provider("two")
        problem(admin_api.patch(f"{PROVIDERS}/{two['id']}", {"name": "ONE"}), 409, "name_taken")
        assert _row(two).name == "two"

    def test_the_database_refuses_names_differing_only_in_case(self, make_provider):
        make_provider("one")
        with pytest.raises(IntegrityError), transaction.atomic():
            Provider.objects.create(name="ONE", kind="echo")  # what a racing second request would write

    def test_rename_keeping_own_name_in_another_case(self, admin_api, make_provider):
        data = make_provider("one")
        assert admin_api.patch(f"{PROVIDERS}/{data['id']}", {"name": "One"}).status_code == 200

    @pytest.mark.parametrize("body,field", [({"name": "openai"}, "name"), ({"kind": None}, "kind"),
                                            ({"name": None}, "name"), ({"models": None}, "models"),
                                            ({"id": "x", "secret": 1}, "secret")])
    def test_patch_validation(self, admin_api, make_provider, body, field):
        data = make_provider()
        response = problem(admin_api.patch(f"{PROVIDERS}/{data['id']}", body), 400, "validation_error")
        assert list(response["errors"]) == [field]

    def test_put_is_not_allowed(self, admin_api, make_provider):
        data = make_provider()
        problem(admin_api.put(f"{PROVIDERS}/{data['id']}", data), 405, "method_not_allowed")


@pytest.mark.django_db
class TestDelete:
    def test_staff_deletes_provider(self, admin_api, make_provider, caplog):
        data = make_provider()
        response = admin_api.delete(f"{PROVIDERS}/{data['id']}")
        assert response.status_code == 204 and response.content == b""
        assert not Provider.objects.exists()
        assert caplog.records[-1].getMessage().startswith("Provider openai-prod")
        problem(admin_api.get(f"{PROVIDERS}/{data['id']}"), 404, "not_found")


@pytest.mark.django_db
class TestPermissions:
    def test_anonymous_is_401(self, client_for, make_provider):
        data = make_provider()
        anonymous = client_for()
        problem(anonymous.get(PROVIDERS), 401, "not_authenticated")
        problem(anonymous.post(PROVIDERS, {"name": "p", "kind": "echo"}), 401, "not_authenticated")
        problem(anonymous.get(f"{PROVIDERS}/{data['id']}"), 401, "not_authenticated")
        problem(anonymous.post(f"{PROVIDERS}/{data['id']}/test", {}), 401, "not_authenticated")

    def test_non_staff_cannot_write_or_test(self, client_for, make_user, make_provider):
        data = make_provider()
        bob = client_for(make_user("bob"))  # every scope, but not staff
        calls = [bob.post(PROVIDERS, {"name": "mine", "kind": "openai", "api_key": KEY}),
                 bob.patch(f"{PROVIDERS}/{data['id']}", {"api_key": OTHER_KEY}),
                 bob.delete(f"{PROVIDERS}/{data['id']}"),
                 bob.post(f"{PROVIDERS}/{data['id']}/test", {})]
        for response in calls:
            body = problem(response, 403, "permission_denied")
            assert "only staff" in body["detail"]
        assert [p.name for p in Provider.objects.all()] == ["openai-prod"]
        assert crypto.decrypt(_row(data).api_key_ciphertext) == KEY
        assert bob.get(PROVIDERS).status_code == 200

    def test_read_only_token_lists_but_cannot_create(self, client_for, staff, make_provider):
        data = make_provider()
        reader = client_for(staff, scopes=[Scope.AGENTS_READ])
        assert reader.get(PROVIDERS).status_code == 200
        assert reader.get(f"{PROVIDERS}/{data['id']}").status_code == 200
        body = problem(reader.post(PROVIDERS, {"name": "p2", "kind": "echo"}), 403, "permission_denied")
        assert "agents:write" in body["detail"]
        problem(reader.patch(f"{PROVIDERS}/{data['id']}", {"name": "p3"}), 403, "permission_denied")
        problem(reader.post(f"{PROVIDERS}/{data['id']}/test", {}), 403, "permission_denied")

    def test_run_scope_cannot_read(self, client_for, staff):
        problem(client_for(staff, scopes=[Scope.AGENTS_RUN]).get(PROVIDERS), 403, "permission_denied")


@pytest.mark.django_db
class TestAgentConfig:
    def _agent(self, client, provider):
        return client.post("/api/v1/agents", {"name": "Bot", "config": {"model": {"provider": provider,
                                                                                   "model": "gpt-4o-mini"}}})

    @pytest.mark.parametrize("by", ["name", "id"])
    def test_agent_may_name_a_configured_provider(self, client_for, make_user, make_provider, by):
        data = make_provider()
        response = self._agent(client_for(make_user("bob")), data[by])
        assert response.status_code == 201, response.content
        assert response.json()["data"]["config"]["model"]["provider"] == data[by]

    def test_unknown_provider_is_400(self, client_for, make_user, make_provider):
        make_provider()
        response = problem(self._agent(client_for(make_user("bob")), "nope"), 400, "validation_error")
        message = response["errors"]["config.model.provider"][0]
        assert "'nope'" in message and "openai-prod" in message

    def test_deleted_provider_is_no_longer_known(self, client_for, make_user, admin_api, make_provider):
        data = make_provider()
        admin_api.delete(f"{PROVIDERS}/{data['id']}")
        problem(self._agent(client_for(make_user("bob")), "openai-prod"), 400, "validation_error")


@pytest.mark.django_db
class TestResolve:
    def test_row_by_name_or_id(self, make_provider):
        data = make_provider()
        for ref in (data["name"], data["id"]):
            settings = resolve_provider(ref)
            assert (settings.name, settings.kind, settings.base_url, settings.api_key) == (
                "openai-prod", "openai", PUBLIC_URL, KEY)
            assert settings.prices == {"gpt-4o-mini": (0.15, 0.6), "gpt-4o": (2.5, 10.0)}

    def test_builtins_read_the_environment(self, monkeypatch):
        monkeypatch.setenv("OPENAI_BASE_URL", "https://93.184.216.34/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        openai = resolve_provider("openai")
        assert (openai.kind, openai.base_url, openai.api_key) == ("openai", "https://93.184.216.34/v1", KEY)
        anthropic = resolve_provider("anthropic")
        assert (anthropic.kind, anthropic.base_url, anthropic.api_key) == ("anthropic", "", "")
        assert resolve_provider("echo").kind == "echo"

    @pytest.mark.parametrize("ref", ["nope", UNKNOWN_ID, "", "Echo"])
    def test_unknown_ref_raises(self, ref):
        with pytest.raises(UnknownProvider):
            resolve_provider(ref)


@pytest.mark.django_db
class TestConnectionTest:
    @pytest.fixture
    def fake(self, fresh_fake_llm, settings):
        settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
        return fresh_fake_llm

    def test_success(self, admin_api, make_provider, fake):
        data = make_provider(base_url=f"{fake.url}/v1")
        fake.enqueue(Reply(text="ok", usage=(12, 1)))
        response = admin_api.post(f"{PROVIDERS}/{data['id']}/test", {})
        assert response.status_code == 200, response.content
        result = response.json()["data"]
        assert isinstance(result.pop("latency_ms"), int)
        assert result == {"ok": True, "model": "gpt-4o-mini", "output": "ok",
                          "usage": {"prompt": 12, "completion": 1}}
        [sent] = fake.requests
        assert sent.model == "gpt-4o-mini"
        assert sent.body["messages"] == [{"role": "user", "content": "Reply with: ok"}]
        assert sent.headers["authorization"] == f"Bearer {KEY}"

    def test_named_model_and_anthropic(self, admin_api, make_provider, fake):
        make_provider("claude", kind="anthropic", base_url=fake.url, models=[])
        fake.enqueue(Reply(text="ok"))
        response = admin_api.post(f"{PROVIDERS}/claude/test", {"model": "claude-test"})
        assert response.status_code == 200, response.content
        assert response.json()["data"]["model"] == "claude-test"
        [sent] = fake.requests
        assert (sent.api, sent.model) == ("anthropic", "claude-test")
        assert any(KEY in value for value in sent.headers.values())  # the key reaches the provider

    def test_echo_provider(self, admin_api, make_provider):
        make_provider("offline", kind="echo", base_url="", models=[{"name": "echo"}])
        response = admin_api.post(f"{PROVIDERS}/offline/test")
        assert response.status_code == 200, response.content
        assert response.json()["data"]["output"] == "Reply with: ok"

    def test_provider_failure_is_502(self, admin_api, make_provider, fake):
        data = make_provider(base_url=f"{fake.url}/v1")
        fake.enqueue(Reply(status=500, error=f"upstream exploded; key was {KEY}"))
        body = problem(admin_api.post(f"{PROVIDERS}/{data['id']}/test", {}), 502, "provider_error")
        assert "500" in body["detail"]

    def test_no_model_to_test_is_400(self, admin_api, make_provider, fake):
        data = make_provider(base_url=f"{fake.url}/v1", models=[])
        body = problem(admin_api.post(f"{PROVIDERS}/{data['id']}/test", {}), 400, "validation_error")
        assert list(body["errors"]) == ["model"]
        assert fake.requests == []

    def test_address_no_longer_allowed_is_refused_at_call_time(self, admin_api, make_provider, fake, settings):
        data = make_provider(base_url=f"{fake.url}/v1")
        settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []
        body = problem(admin_api.post(f"{PROVIDERS}/{data['id']}/test", {}), 502, "provider_error")
        assert "AGENTRY_ALLOWED_PRIVATE_HOSTS" in body["detail"]
        assert fake.requests == []


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def browser(self, staff):
        staff.is_superuser = True
        staff.save()
        client = Client()
        client.force_login(staff)
        return client

    def test_add_encrypts_key_and_never_shows_it(self, browser, caplog):
        response = browser.post("/admin/agents/provider/add/", {
            "name": "from-admin", "kind": "openai", "base_url": PUBLIC_URL, "api_key": KEY,
            "models": '[{"name": "gpt-4o-mini"}]'})
        assert response.status_code == 302, response.content.decode()[:2000]
        row = Provider.objects.get(name="from-admin")
        assert crypto.decrypt(row.api_key_ciphertext) == KEY
        assert row.models == [{"name": "gpt-4o-mini", "input_per_million": 0, "output_per_million": 0}]
        page = browser.get(f"/admin/agents/provider/{row.pk}/change/")
        assert page.status_code == 200
        assert KEY.encode() not in page.content and row.api_key_ciphertext.encode() not in page.content
        listing = browser.get("/admin/agents/provider/")
        assert row.api_key_ciphertext.encode() not in listing.content

    def test_change_keeps_clears_and_validates(self, browser, make_provider):
        data = make_provider()
        url = f"/admin/agents/provider/{data['id']}/change/"
        form = {"name": "openai-prod", "kind": "openai", "base_url": PUBLIC_URL, "models": "[]", "api_key": ""}
        assert browser.post(url, form).status_code == 302
        assert crypto.decrypt(_row(data).api_key_ciphertext) == KEY
        refused = browser.post(url, form | {"base_url": "http://10.0.0.5/v1"})
        assert refused.status_code == 200 and b"AGENTRY_ALLOWED_PRIVATE_HOSTS" in refused.content
        assert _row(data).base_url == PUBLIC_URL
        assert browser.post(url, form | {"clear_api_key": "on"}).status_code == 302
        assert _row(data).api_key_ciphertext == ""
