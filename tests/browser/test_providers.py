"""Providers in the browser: staff add one pointing at the fake LLM, press
test and see it answer; a user without staff is refused."""

from playwright.sync_api import expect

from agents.models import Provider
from core import crypto
from tests.browser.conftest import axe_check

SECRET = "sk-browser-secret-42"


def test_staff_create_a_provider_and_test_it(console, make_user):
    # given a staff user on the providers page, reached from the navigation
    staff = make_user("sam", is_staff=True)
    page = console.page(staff)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Providers").click()
    expect(page.get_by_role("heading", name="Providers", level=1)).to_be_visible()
    expect(page.locator('tr[data-provider="fake"]')).to_contain_text("Stored")
    axe_check(page)

    # when a provider is created pointing at the fake LLM, with one priced model
    page.get_by_role("link", name="New provider").click()
    expect(page.get_by_role("heading", name="New provider", level=1)).to_be_visible()
    page.get_by_label("Name").fill("local-llm")
    page.get_by_label("Kind").select_option("openai")
    page.get_by_label("Base URL").fill(console.llm.url + "/v1")
    page.get_by_label("API key").fill(SECRET)
    page.get_by_role("button", name="Add a model").click()  # a third row, focused
    expect(page.locator("#id_models-2-name")).to_be_focused()
    page.get_by_label("Model (row 1)").fill("gpt-main")
    page.get_by_label("Input USD per million tokens (row 1)").fill("1.5")
    page.get_by_label("Output USD per million tokens (row 1)").fill("6")
    page.get_by_role("button", name="Create provider").click()

    # then it is saved through the service, and the key is never shown back
    expect(page.get_by_text("Provider “local-llm” created.")).to_be_visible()
    provider = Provider.objects.get(name="local-llm")
    assert provider.models == [{"name": "gpt-main", "input_per_million": 1.5, "output_per_million": 6.0}]
    assert crypto.decrypt(provider.api_key_ciphertext) == SECRET
    expect(page.get_by_label("API key")).to_have_value("")
    assert SECRET not in page.content()
    axe_check(page)

    # when its test button is pressed, the fake LLM's answer appears in place
    page.get_by_role("button", name="Test local-llm").click()
    result = page.locator(f"#test-result-{provider.pk}")
    # (a real call through the OpenAI SDK: its first use in a process is slow on a busy machine)
    expect(result.locator('[data-test="ok"]')).to_contain_text("gpt-main answered in", timeout=20_000)
    assert console.llm.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    console.screenshot(page, "providers_tested")


def test_a_user_without_staff_is_refused(console, make_user):
    page = console.page(make_user("nora"))
    page.goto("/")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Providers")).to_have_count(0)
    response = page.goto("/providers/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("only staff users may change or test them")).to_be_visible()
