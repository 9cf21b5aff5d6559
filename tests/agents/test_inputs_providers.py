"""A provider's body (``agents.inputs.providers``) as the providers service
checks it: each problem at its field path with its one message, values kept
or normalised as they always were, and name clashes answered after the rest."""

import pytest

from accounts.actor import Actor
from agents.admin import ProviderForm
from agents.errors import NameTaken
from agents.services.providers import provider_create, provider_validate
from core.errors import ValidationFailed

PUBLIC_URL = "https://93.184.216.34/v1"  # a literal public address: no DNS needed
NAME_RULE = "Use letters, digits, hyphens, underscores and dots, starting with a letter or digit."
KINDS = "Must be one of openai, anthropic, echo."
MODEL_NAME = "Must be 1–200 characters."
NOT_A_NUMBER, OUT_OF_RANGE = "Must be a number.", "Must be between 0 and 1000000."
OFFLINE = "The echo provider runs offline and takes no base_url."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_private_hosts(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []


@pytest.fixture
def provider(make_user):
    return provider_create(actor=Actor(user=make_user("root", is_staff=True)), name="base", kind="openai",
                           base_url=PUBLIC_URL, api_key="sk-1", models=[{"name": "gpt"}])


def problems(data, provider=None) -> list[tuple[str, list[str]]]:
    """The errors ``provider_validate`` answers ``data`` with, in order."""
    with pytest.raises(ValidationFailed) as caught:
        provider_validate(provider=provider, data=data)
    return list(caught.value.errors.items())


def create(**fields):
    return {"name": "p1", "kind": "openai", **fields}


@pytest.mark.parametrize("data, errors", [
    (create(name=42), [("name", ["Must be 1–64 characters."])]),
    (create(name=""), [("name", ["Must be 1–64 characters."])]),
    (create(name="x" * 65), [("name", ["Must be 1–64 characters."])]),
    (create(name=" p1"), [("name", [NAME_RULE])]),  # not trimmed into a valid name
    (create(name="p\x00"), [("name", [NAME_RULE])]),
    (create(name="6F1C2F1E-8B8E-4A8F-9D0E-2B7C1A3E4F50"),
     [("name", ["Cannot have the form of a UUID (ids and names share the path)."])]),
    (create(name="OpenAI"), [("name", ["'OpenAI' is the name of a built-in provider."])]),
    (create(name=None), [("name", ["This field is required."])]),
    (create(kind=None), [("kind", ["This field is required."])]),
    (create(kind=1), [("kind", [KINDS])]),
    (create(kind="OPENAI"), [("kind", [KINDS])]),
    (create(base_url=5), [("base_url", ["Must be a string."])]),
    (create(base_url="https://user:pw@93.184.216.34/v1"),
     [("base_url", ["Must not carry credentials; set api_key instead."])]),
    (create(base_url=f"{PUBLIC_URL}#frag"), [("base_url", ["Must not have a fragment."])]),
    (create(base_url="https://93.184.216.34/v 1"),
     [("base_url", ["Must not contain whitespace or control characters."])]),
    (create(base_url="http://93.184.216.34/\x00"),
     [("base_url", ["Must not contain whitespace or control characters."])]),
    (create(base_url="https://93.184.216.34/" + "a" * 479),
     [("base_url", ["Ensure this field has no more than 500 characters."])]),
    (create(kind="echo", base_url=PUBLIC_URL), [("base_url", [OFFLINE])]),
    (create(api_key=12345), [("api_key", ["Must be a string."])]),
    (create(api_key="k" * 4097), [("api_key", ["Ensure this field has no more than 4096 characters."])]),
    (create(models="gpt-4o"), [("models", ["Must be a list of objects."])]),
    (create(models=None), [("models", ["Must be a list of objects."])]),
    (create(models=[{"name": f"m{i}"} for i in range(201)]), [("models", ["At most 200 models."])]),
    (create(models=["gpt-4o", None]),
     [("models[0]", ["Must be an object with name, input_per_million and output_per_million."]),
      ("models[1]", ["Must be an object with name, input_per_million and output_per_million."])]),
    (create(models=[{"input_per_million": 1}]), [("models[0].name", [MODEL_NAME])]),
    (create(models=[{"name": "  "}]), [("models[0].name", [MODEL_NAME])]),
    (create(models=[{"name": True}]), [("models[0].name", [MODEL_NAME])]),
    (create(models=[{"name": "", "zeta": 1, "alpha": 2}]),
     [("models[0].alpha", ["Unknown field."]), ("models[0].zeta", ["Unknown field."]),
      ("models[0].name", [MODEL_NAME])]),
    (create(models=[{"name": "a", "input_per_million": -1}, {"name": "a"}]),
     [("models[0].input_per_million", [OUT_OF_RANGE]), ("models[1].name", ["Listed twice."])]),
    (create(models=[{"name": "a"}, {"name": "a", "price": 1, "output_per_million": "1.5"}]),
     [("models[1].price", ["Unknown field."]), ("models[1].name", ["Listed twice."]),
      ("models[1].output_per_million", [NOT_A_NUMBER])]),
    (create(models=[{"name": {"x": 1}}, {"name": {"x": 1}}]),
     [("models[0].name", [MODEL_NAME]), ("models[1].name", [MODEL_NAME])]),
])
def test_each_problem_has_its_path_and_message(data, errors):
    assert problems(data) == errors


@pytest.mark.parametrize("price, message", [
    ("1.5", NOT_A_NUMBER), (True, NOT_A_NUMBER), (None, NOT_A_NUMBER), ([1], NOT_A_NUMBER),
    (float("nan"), NOT_A_NUMBER), (float("inf"), NOT_A_NUMBER), (float("-inf"), NOT_A_NUMBER),
    (-1, OUT_OF_RANGE), (1_000_000.5, OUT_OF_RANGE), (10 ** 400, OUT_OF_RANGE),
])
def test_prices_are_finite_numbers_in_range(price, message):
    for key in ("input_per_million", "output_per_million"):
        assert problems(create(models=[{"name": "a", key: price}])) == [(f"models[0].{key}", [message])]


def test_every_field_is_checked_in_one_answer():
    # when
    errors = problems({"models": "x", "api_key": 5, "base_url": "ftp://x", "kind": "gpt", "name": "x y"})

    # then
    assert errors == [("name", [NAME_RULE]), ("kind", [KINDS]), ("base_url", ["Only http and https URLs are allowed."]),
                      ("api_key", ["Must be a string."]), ("models", ["Must be a list of objects."])]


@pytest.mark.parametrize("body", [None, [], [{"name": "p1"}], "p1", 5, True])
def test_the_body_must_be_an_object(body):
    assert problems(body) == [("non_field_errors", ["Expected a JSON object."])]


def test_unknown_keys_are_refused_alone_and_read_only_ones_ignored():
    assert problems(create(name="", zeta=1, alpha=2)) == [("alpha", ["Unknown field."]), ("zeta", ["Unknown field."])]
    assert provider_validate(data=create(id="x", has_api_key=True, created_at="c", updated_at="u")) == create()


def test_values_are_normalised_as_stored():
    # when
    clean = provider_validate(data=create(base_url=f"  {PUBLIC_URL}\n", api_key=" sk-x ",
                                          models=[{"name": " a ", "output_per_million": 10},
                                                  {"name": "b", "input_per_million": 0.15}]))

    # then: strings trimmed (but not model names), prices kept as sent and defaulting to 0
    assert clean == {"name": "p1", "kind": "openai", "base_url": PUBLIC_URL, "api_key": "sk-x",
                     "models": [{"name": " a ", "input_per_million": 0, "output_per_million": 10},
                                {"name": "b", "input_per_million": 0.15, "output_per_million": 0}]}
    assert type(clean["models"][0]["output_per_million"]) is int


def test_null_base_url_and_key_are_empty():
    assert provider_validate(data=create(base_url=None, api_key=None)) == create(base_url="", api_key="")


def test_a_name_clash_is_answered_after_the_other_problems(provider):
    assert problems({"name": "BASE", "kind": "gpt"}) == [("kind", [KINDS])]
    with pytest.raises(NameTaken) as caught:
        provider_validate(data={"name": "BASE", "kind": "openai"})
    assert (caught.value.status, caught.value.errors) == (409, {"name": ["Already in use."]})


@pytest.mark.parametrize("data, errors", [
    ({"name": None}, [("name", ["Must be 1–64 characters."])]),
    ({"kind": None}, [("kind", [KINDS])]),
    ({"name": 42}, [("name", ["Must be 1–64 characters."])]),
    ({"kind": "echo", "base_url": PUBLIC_URL}, [("base_url", [OFFLINE])]),
    ({"models": None}, [("models", ["Must be a list of objects."])]),
    ({"models": [{"input_per_million": 1}]}, [("models[0].name", [MODEL_NAME])]),
])
def test_a_patch_checks_what_it_sends(provider, data, errors):
    assert problems(data, provider) == errors


def test_a_patch_keeps_its_own_name_and_fills_prices(provider):
    assert provider_validate(provider=provider, data={"name": "BASE", "models": [{"name": "b"}]}) == {
        "name": "BASE", "models": [{"name": "b", "input_per_million": 0, "output_per_million": 0}]}


def test_switching_to_echo_drops_the_base_url(provider):
    assert provider_validate(provider=provider, data={"kind": "echo"}) == {"kind": "echo", "base_url": ""}
    assert provider_validate(provider=provider, data={"kind": "echo", "base_url": "  "}) == {
        "kind": "echo", "base_url": ""}


def test_an_unchanged_base_url_is_not_checked_again(provider, settings):
    # given a provider whose address was allowed when it was set
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    provider.base_url = "http://127.0.0.1:1234/v1"
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []

    # then sending it back is no change, and another private address is refused
    assert provider_validate(provider=provider, data={"base_url": " http://127.0.0.1:1234/v1 "}) == {
        "base_url": "http://127.0.0.1:1234/v1"}
    [(field, [message])] = problems({"base_url": "http://127.0.0.2/v1"}, provider)
    assert field == "base_url" and "AGENTRY_ALLOWED_PRIVATE_HOSTS" in message


def test_keyword_fields_are_checked_as_a_body_is():
    assert provider_validate(name="p1", kind="openai", api_key=None) == create(api_key="")
    with pytest.raises(ValidationFailed) as caught:
        provider_validate(name=42, kind="openai")
    assert caught.value.errors == {"name": ["Must be 1–64 characters."]}


@pytest.mark.parametrize("models, errors", [
    ('[{"name": ""}]', {"models": [MODEL_NAME]}),
    ('[{"name": "a", "q": 1}]', {"models": ["Unknown field."]}),
    ('{"a": 1}', {"models": ["Must be a list of objects."]}),
])
def test_the_admin_form_shows_problems_on_their_field(models, errors):
    form = ProviderForm(data={"name": "from-admin", "kind": "openai", "base_url": "", "models": models})
    assert not form.is_valid()
    assert {field: list(messages) for field, messages in form.errors.items()} == errors
