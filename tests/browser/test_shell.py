"""The console's shell: sign-in, navigation, narrow screens, accessibility."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import axe_check, log_in


def test_log_in_lands_on_the_dashboard_with_navigation(console, make_user):
    make_user("carol")
    page = console.page()
    page.goto("/agents/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/agents/"))
    log_in(page, "carol", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    log_in(page, "carol")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Agents")).to_be_visible()
    expect(page.get_by_role("link", name="API docs")).to_have_attribute("href", "/api/docs/")
    axe_check(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Agentry")).to_be_visible()


def test_narrow_screen_hides_the_navigation_behind_a_menu_button(console, make_user):
    user = make_user("dave")
    page = console.page(user, width=375, height=740)
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    menu.focus()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    axe_check(page)
