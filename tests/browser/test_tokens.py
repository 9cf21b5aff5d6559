"""API tokens in the browser: create one with two scopes, see the raw token
once with its copy button, reload to find only its prefix, revoke it."""

import re

from playwright.sync_api import expect

from accounts.models import ApiToken
from accounts.services import hash_token
from tests.browser.conftest import axe_check


def test_create_a_token_see_it_once_and_revoke_it(console, make_user):
    # given a signed-in user on the tokens page, reached from the navigation
    user = make_user("tara")
    page = console.page(user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url(""))
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    axe_check(page)

    # when a token is created with two scopes
    page.get_by_label("Name").fill("CI")
    page.get_by_label("agents:read").check()
    page.get_by_label("agents:run").check()
    page.get_by_role("button", name="Create token").click()

    # then its raw value is shown once, focused, with a copy button that copies it
    expect(page.get_by_role("heading", name="Token “CI” created")).to_be_visible()
    raw_box = page.get_by_label("Your new token")
    expect(raw_box).to_be_focused()
    expect(raw_box).to_have_value(re.compile(r"^agt_\S{20,}$"))
    raw = raw_box.input_value()
    token = ApiToken.objects.get(user=user)
    assert hash_token(raw) == token.key_hash and token.scopes == ["agents:read", "agents:run"]
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    row = page.locator(f'tr[data-token="{token.prefix}"]')
    expect(row).to_contain_text("agents:read")
    expect(row).to_contain_text("agents:run")
    axe_check(page)
    console.screenshot(page, "tokens_created")

    # when the page is reloaded, the raw token is gone: only its prefix is listed
    page.reload()
    expect(page.get_by_role("heading", name="Your tokens")).to_be_visible()
    expect(page.get_by_role("heading", name="Token “CI” created")).to_have_count(0)
    assert raw not in page.content()
    expect(row.locator("code")).to_have_text(f"{token.prefix}…")

    # when it is revoked (after confirming), it is gone from the list and the database
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke CI").click()
    expect(page.get_by_text("Token “CI” revoked")).to_be_visible()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    assert not ApiToken.objects.filter(user=user).exists()


def test_tokens_page_fits_a_phone(console, make_user):
    user = make_user("pia")
    page = console.page(user, width=375, height=740)
    page.goto("/tokens/")
    page.get_by_label("Name").fill("phone")
    page.get_by_label("agents:read").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    axe_check(page)
