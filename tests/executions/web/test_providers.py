"""The console's providers pages (staff): list, create, edit, delete and the
live test, through the same services as ``/api/v1/providers``; the API key
is write-only and never appears in a page."""

import logging
import re

import pytest

from accounts.actor import Actor
from agents.models import Provider
from agents.services.providers import provider_create
from core import crypto
from tests.agents.web.html_forms import form_values
from tests.fakes.llm_server import Reply

KEY = "sk-live-SECRET-0123456789abcdef"
NEW_KEY = "sk-live-NEWKEY-fedcba9876543210"
PUBLIC_URL = "https://93.184.216.34/v1"  # a literal public address: no DNS needed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys_never_leak(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert KEY not in record.getMessage() and NEW_KEY not in record.getMessage()


@pytest.fixture
def staff(make_user):
    return make_user("root", is_staff=True)


@pytest.fixture
def as_staff(client, staff):
    client.force_login(staff)
    return client


def make_provider(staff, name="openai-prod", **fields):
    body = {"name": name, "kind": "openai", "base_url": PUBLIC_URL, "api_key": KEY,
            "models": [{"name": "gpt-4o-mini", "input_per_million": 0.15, "output_per_million": 0.6}]} | fields
    return provider_create(actor=Actor(user=staff), **body)


def page(response) -> str:
    html = response.content.decode()
    assert KEY not in html and NEW_KEY not in html, "a page showed an API key"
    return html


def body_for(staff_client, url, **changes):
    """The form as the page renders it, with ``changes`` typed in."""
    return form_values(page(staff_client.get(url)), url) | changes


def field_error(html, field_id, message):
    return re.search(rf'<ul class="errorlist" id="{field_id}_error" role="alert"><li>{re.escape(message)}', html)


# --- who may see them -----------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/providers/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/providers/"


def test_non_staff_are_refused_every_page_and_change_nothing(client, make_user, staff):
    provider = make_provider(staff)
    client.force_login(make_user("bob"))
    pages = [client.get("/providers/"), client.get("/providers/new/"), client.get(f"/providers/{provider.pk}/"),
             client.post("/providers/new/", {"name": "mine", "kind": "echo"}),
             client.post(f"/providers/{provider.pk}/", {"name": "renamed", "kind": "echo"}),
             client.post(f"/providers/{provider.pk}/test/"), client.post(f"/providers/{provider.pk}/delete/")]
    assert [response.status_code for response in pages] == [403] * 7
    assert "only staff users may change or test them" in pages[0].content.decode()
    assert list(Provider.objects.values_list("name", flat=True)) == ["openai-prod"]


def test_navigation_shows_providers_to_staff_only(client, make_user, staff):
    client.force_login(make_user("bob"))
    assert 'href="/providers/"' not in client.get("/tokens/").content.decode()
    client.force_login(staff)
    assert 'href="/providers/"' in client.get("/tokens/").content.decode()


def test_unknown_provider_is_404(as_staff):
    assert as_staff.get("/providers/0d9c3a52-3f1e-4d55-9a57-6c1f1b2e8a41/").status_code == 404
    assert as_staff.post("/providers/0d9c3a52-3f1e-4d55-9a57-6c1f1b2e8a41/delete/").status_code == 404


# --- the list ------------------------------------------------------------------------------------------------

def test_list_shows_each_provider_without_its_key(as_staff, staff):
    make_provider(staff)
    make_provider(staff, "local", kind="echo", base_url="", api_key="", models=[])

    html = page(as_staff.get("/providers/"))

    row = re.search(r'<tr data-provider="openai-prod">(.*?)</tr>', html, re.S).group(1)
    assert "OpenAI-compatible" in row and f"<code>{PUBLIC_URL}</code>" in row and "Stored" in row
    assert "<code>gpt-4o-mini</code> 0.15 / 0.6" in row and ">Test<" in row
    local = re.search(r'<tr data-provider="local">(.*?)</tr>', html, re.S).group(1)
    assert "None" in local and "none listed" in local


def test_list_query_count_does_not_grow(as_staff, staff, django_assert_num_queries):
    make_provider(staff)
    as_staff.get("/providers/")
    with django_assert_num_queries(4) as one:  # session, user, count, page
        as_staff.get("/providers/")
    for n in range(8):
        make_provider(staff, f"p{n}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = as_staff.get("/providers/")
    assert response.content.decode().count("<tr data-provider=") == 9


# --- creating -----------------------------------------------------------------------------------------------

def test_create_posts_the_body_the_api_takes(as_staff, staff):
    body = body_for(as_staff, "/providers/new/", **{
        "name": "openai-prod", "kind": "openai", "base_url": f"  {PUBLIC_URL} ", "api_key": KEY,
        "models-0-name": "gpt-4o-mini", "models-0-input_per_million": "0.15", "models-0-output_per_million": "0.6",
        "models-1-name": "gpt-4o", "models-1-input_per_million": "2.5"})

    response = as_staff.post("/providers/new/", body, follow=True)

    provider = Provider.objects.get()
    assert response.redirect_chain == [(f"/providers/{provider.pk}/", 302)]
    assert "Provider “openai-prod” created." in page(response)
    assert (provider.name, provider.kind, provider.base_url, provider.created_by) == (
        "openai-prod", "openai", PUBLIC_URL, staff)
    assert provider.models == [{"name": "gpt-4o-mini", "input_per_million": 0.15, "output_per_million": 0.6},
                               {"name": "gpt-4o", "input_per_million": 2.5, "output_per_million": 0}]
    assert crypto.decrypt(provider.api_key_ciphertext) == KEY


def test_create_logs_like_the_api(as_staff, staff, caplog):
    as_staff.post("/providers/new/", {"name": "offline", "kind": "echo", "models-TOTAL_FORMS": "0",
                                      "models-INITIAL_FORMS": "0"})
    provider = Provider.objects.get()
    logged = [r.getMessage() for r in caplog.records if r.name == "agentry.providers"]
    assert logged == [f"Provider offline ({provider.pk}) created by {staff.email}: name, kind"]


@pytest.mark.parametrize("changes, field_id, message", [
    ({"name": "echo"}, "id_name", "&#x27;echo&#x27; is the name of a built-in provider."),
    ({"name": "bad name"}, "id_name", "Use letters, digits, hyphens, underscores and dots"),
    ({"kind": "echo", "base_url": PUBLIC_URL}, "id_base_url", "The echo provider runs offline and takes no base_url."),
    ({"base_url": "http://127.0.0.1:9/v1"}, "id_base_url", "127.0.0.1"),
    ({"base_url": "https://user:pw@93.184.216.34/v1"}, "id_base_url", "Must not carry credentials"),
    ({"kind": "grok"}, "id_kind", "Select a valid choice."),
])
def test_bad_provider_fields_are_errors_beside_them(as_staff, settings, changes, field_id, message):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []
    body = body_for(as_staff, "/providers/new/", **({"name": "prod", "kind": "openai"} | changes))
    html = page(as_staff.post("/providers/new/", body))
    assert re.search(rf'<ul class="errorlist" id="{field_id}_error" role="alert"><li>[^<]*{re.escape(message)}', html)
    assert not Provider.objects.exists()


def test_a_taken_name_is_an_error_beside_the_name(as_staff, staff):
    make_provider(staff, "prod")
    html = page(as_staff.post("/providers/new/", body_for(as_staff, "/providers/new/", name="PROD", kind="echo")))
    assert field_error(html, "id_name", "Already in use.")
    assert Provider.objects.count() == 1


def test_bad_model_rows_are_errors_on_their_row(as_staff):
    # given rows 1 and 3 fine but named the same, and row 2 blank (skipped), row 4 priced but unnamed
    body = body_for(as_staff, "/providers/new/", name="prod", kind="echo", **{
        "models-TOTAL_FORMS": "4", "models-0-name": "m", "models-2-name": "m",
        "models-3-input_per_million": "1"})

    html = page(as_staff.post("/providers/new/", body))

    assert field_error(html, "id_models-2-name", "Listed twice.")
    assert field_error(html, "id_models-3-name", "Must be 1–200 characters.")
    assert not field_error(html, "id_models-0-name", "")
    assert not Provider.objects.exists()


def test_a_negative_price_is_refused_by_the_row(as_staff):
    body = body_for(as_staff, "/providers/new/", name="prod", kind="echo", **{
        "models-0-name": "m", "models-0-output_per_million": "-1"})
    html = page(as_staff.post("/providers/new/", body))
    assert field_error(html, "id_models-0-output_per_million", "Ensure this value is greater than or equal to 0.")
    assert not Provider.objects.exists()


# --- editing ------------------------------------------------------------------------------------------------

def test_edit_form_shows_the_provider_but_never_its_key(as_staff, staff):
    provider = make_provider(staff)
    html = page(as_staff.get(f"/providers/{provider.pk}/"))
    values = form_values(html, f"/providers/{provider.pk}/")
    assert values["name"] == "openai-prod" and values["base_url"] == PUBLIC_URL and values["api_key"] == ""
    assert values["models-0-name"] == "gpt-4o-mini" and values["models-0-input_per_million"] == "0.15"
    assert "A key is stored: leave blank to keep it" in html and "Remove the stored key" in html


def test_edit_with_a_blank_key_keeps_the_key_and_saves_the_rest(as_staff, staff):
    provider = make_provider(staff)
    url = f"/providers/{provider.pk}/"
    body = body_for(as_staff, url, name="openai-main", **{"models-0-output_per_million": "0.8",
                                                           "models-1-name": "gpt-4o"})

    response = as_staff.post(url, body, follow=True)

    assert response.redirect_chain == [(url, 302)] and "Provider “openai-main” saved." in page(response)
    provider.refresh_from_db()
    assert provider.name == "openai-main"
    assert provider.models == [{"name": "gpt-4o-mini", "input_per_million": 0.15, "output_per_million": 0.8},
                               {"name": "gpt-4o", "input_per_million": 0, "output_per_million": 0}]
    assert crypto.decrypt(provider.api_key_ciphertext) == KEY


def test_edit_replaces_or_removes_the_key(as_staff, staff):
    provider = make_provider(staff)
    url = f"/providers/{provider.pk}/"
    as_staff.post(url, body_for(as_staff, url, api_key=NEW_KEY))
    provider.refresh_from_db()
    assert crypto.decrypt(provider.api_key_ciphertext) == NEW_KEY

    as_staff.post(url, body_for(as_staff, url, clear_api_key="on"))
    provider.refresh_from_db()
    assert provider.api_key_ciphertext == ""
    assert "Remove the stored key" not in page(as_staff.get(url))


def test_clearing_a_rows_name_removes_the_model(as_staff, staff):
    provider = make_provider(staff)
    url = f"/providers/{provider.pk}/"
    as_staff.post(url, body_for(as_staff, url, **{"models-0-name": "", "models-0-input_per_million": "",
                                                  "models-0-output_per_million": ""}))
    provider.refresh_from_db()
    assert provider.models == []


# --- deleting -----------------------------------------------------------------------------------------------

def test_delete_removes_the_provider(as_staff, staff):
    provider = make_provider(staff)
    response = as_staff.post(f"/providers/{provider.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/providers/", 302)]
    assert "Provider “openai-prod” deleted." in page(response)
    assert not Provider.objects.exists()


def test_delete_needs_a_post(as_staff, staff):
    provider = make_provider(staff)
    assert as_staff.get(f"/providers/{provider.pk}/delete/").status_code == 405
    assert Provider.objects.exists()


# --- testing ------------------------------------------------------------------------------------------------

@pytest.fixture
def fake(fresh_fake_llm, settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    return fresh_fake_llm


def test_test_button_shows_the_providers_answer_in_place(as_staff, staff, fake):
    provider = make_provider(staff, base_url=f"{fake.url}/v1",
                             models=[{"name": "gpt-a"}, {"name": "gpt-b"}])
    fake.enqueue(Reply(text="ok", usage=(12, 1)))

    response = as_staff.post(f"/providers/{provider.pk}/test/", {"model": "gpt-b"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = page(response)
    assert "<html" not in html and 'data-test="ok"' in html
    assert "<code>gpt-b</code> answered in" in html and "(12 prompt + 1 completion tokens)" in html
    [sent] = fake.requests
    assert sent.model == "gpt-b" and sent.headers["authorization"] == f"Bearer {KEY}"


def test_test_defaults_to_the_first_model(as_staff, staff, fake):
    provider = make_provider(staff, base_url=f"{fake.url}/v1")
    fake.enqueue(Reply(text="ok"))
    as_staff.post(f"/providers/{provider.pk}/test/", HTTP_HX_REQUEST="true")
    assert [r.model for r in fake.requests] == ["gpt-4o-mini"]


def test_a_failing_provider_shows_its_error(as_staff, staff, fake):
    provider = make_provider(staff, base_url=f"{fake.url}/v1")
    fake.enqueue(Reply(status=500, error=f"upstream exploded; key was {KEY}"))

    html = page(as_staff.post(f"/providers/{provider.pk}/test/", HTTP_HX_REQUEST="true"))

    assert 'data-test="failed"' in html and "(502 provider_error)" in html and "HTTP 500" in html


def test_a_provider_without_models_says_what_to_do(as_staff, staff, fake):
    provider = make_provider(staff, base_url=f"{fake.url}/v1", models=[])
    html = page(as_staff.post(f"/providers/{provider.pk}/test/", HTTP_HX_REQUEST="true"))
    assert "Name a model to test: this provider lists none." in html
    assert fake.requests == []


def test_without_htmx_the_result_is_a_page(as_staff, staff):
    provider = make_provider(staff, "offline", kind="echo", base_url="", api_key="", models=[{"name": "echo"}])
    html = page(as_staff.post(f"/providers/{provider.pk}/test/"))
    assert "<h1>Test of offline</h1>" in html and 'data-test="ok"' in html and "Reply with: ok" in html
