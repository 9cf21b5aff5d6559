"""Agents in the browser: the list with its live filters, creating an agent
from a template, fixing the configuration after errors shown beside their
fields, and the pipeline drawn as a graph whose nodes open their config."""

import re

from playwright.sync_api import expect

from agents.models import Agent, AuditAction, AuditLogEntry
from tests.browser.conftest import axe_check, log_in


def test_create_from_a_template_configure_it_and_read_its_pipeline(console, make_user, make_agent):
    # given a signed-in user with one agent already
    user = make_user("tess")
    make_agent(user, "Old helper", tags=["legacy"])
    page = console.page()
    log_in(page, "tess")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    # the list filters as you type (htmx), and the URL follows
    page.goto("/agents/")
    expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_label("Search").fill("nothing-like-this")
    expect(page.locator("#agent-count")).to_have_text("0 agents")
    expect(page).to_have_url(re.compile(r"q=nothing-like-this"))
    page.get_by_label("Search").fill("")
    expect(page.get_by_role("link", name="Old helper")).to_be_visible()

    # create an agent from a template
    page.get_by_role("link", name="New agent").click()
    expect(page.get_by_role("heading", name="New agent", level=1)).to_be_visible()
    axe_check(page)
    console.screenshot(page, "agents_create")
    page.get_by_label("Web page research").check()
    page.get_by_role("button", name="Create from template").click()
    expect(page.get_by_role("heading", name="Web Research", level=1)).to_be_visible()
    expect(page.get_by_text("Created Web Research.")).to_be_visible()
    agent = Agent.objects.get(name="Web Research")

    # configuration: a model the provider does not serve is refused beside the model
    page.get_by_role("navigation", name="Web Research").get_by_role("link", name="Configuration").click()
    expect(page.get_by_role("heading", name="Configuration", level=2)).to_be_visible()
    axe_check(page)
    page.locator("#id_provider").select_option("fake")
    page.locator("#id_model").fill("gpt-nope")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator('[data-field="model"] .errorlist')).to_contain_text(
        "Provider 'fake' has no model 'gpt-nope'; its models: gpt-main, gpt-backup.")
    expect(page.locator("#id_model")).to_have_value("gpt-nope")
    console.screenshot(page, "agents_configuration_error")

    # then a temperature out of range, refused by the service beside the temperature
    page.locator("#id_model").fill("gpt-main")
    page.locator("#id_temperature").fill("3")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator('[data-field="temperature"] .errorlist')).to_have_text(
        "Ensure this value is less than or equal to 2.")
    expect(page.locator('[data-field="model"] .errorlist')).to_have_count(0)

    # fixed, it saves
    page.locator("#id_temperature").fill("0.3")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_text("Configuration saved.")).to_be_visible()
    expect(page.locator("#id_model")).to_have_value("gpt-main")
    agent.refresh_from_db()
    assert agent.config["model"]["provider"] == "fake" and agent.config["model"]["model"] == "gpt-main"
    assert agent.config["model"]["params"]["temperature"] == 0.3
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action=AuditAction.AGENT_UPDATED).count() == 1

    # the pipeline: drawn as a graph; a node opens its configuration from the keyboard
    page.get_by_role("navigation", name="Web Research").get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", name="Pipeline", level=2)).to_be_visible()
    graph = page.locator("svg.pipeline-graph")
    expect(graph.locator("a.node")).to_have_count(4)
    expect(graph.locator("path.wire")).to_have_count(3)
    page.locator('a.node[data-node="fetch"]').focus()
    page.keyboard.press("Enter")
    panel = page.locator("#node-panel")
    expect(panel.get_by_role("heading", name="Node fetch")).to_be_focused()
    expect(panel.locator("pre")).to_contain_text('"url": "{{input.url}}"')
    expect(page.locator('a.node[data-node="fetch"]')).to_have_class(re.compile("node--selected"))
    expect(page).to_have_url(re.compile(r"node=fetch"))
    axe_check(page)
    page.emulate_media(color_scheme="dark")  # the dark theme keeps its contrast too
    axe_check(page)
    console.screenshot(page, "agents_pipeline_dark")
    page.emulate_media(color_scheme="light")

    # and at 375 px the pages do not scroll sideways
    narrow = console.page(user, width=375, height=740)
    for path in ("/agents/", "/agents/new/", f"/agents/{agent.slug}/configuration/",
                 f"/agents/{agent.slug}/pipeline/"):
        narrow.goto(path)
        width = narrow.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways at 375 px ({width} px wide)"
    console.screenshot(narrow, "agents_pipeline_narrow")
    page.bring_to_front()
    console.pages.append(console.pages.pop(console.pages.index(page)))  # the wide pipeline is the test's screenshot
