"""Run and watch, in Chromium: start an agent from its overview, run it from
the run panel and watch the steps appear and the run join the last
executions without a reload, open the execution and see the
waterfall where a diamond pipeline's two branches overlap; cancel a running
execution from its live page; the dashboard's usage and the executions list.
axe-core checks each of these pages."""

import re

from playwright.sync_api import expect

from executions.models import Execution
from tests.browser.conftest import axe_check
from tests.executions.web.runs_factories import make_execution
from tests.fakes.llm_server import Reply

QUESTION = {"type": "object", "required": ["message"],
            "properties": {"message": {"type": "string", "title": "Question", "maxLength": 500}}}


def llm(node_id, model, prompt="{{input.message}}"):
    return {"id": node_id, "type": "llm_call",
            "data": {"provider": "fake", "model": model, "user_prompt_template": prompt}}


def diamond():
    """input → (left, right) in parallel → output."""
    return {
        "nodes": [{"id": "input", "type": "input", "data": {"schema": QUESTION}},
                  llm("left", "gpt-main"), llm("right", "gpt-backup"),
                  {"id": "output", "type": "output",
                   "data": {"mapping": "{{nodes.left.output}} | {{nodes.right.output}}"}}],
        "edges": [{"id": "e1", "source": "input", "target": "left"},
                  {"id": "e2", "source": "input", "target": "right"},
                  {"id": "e3", "source": "left", "target": "output"},
                  {"id": "e4", "source": "right", "target": "output"}],
    }


def box(page, node_id):
    return page.locator(f'details[data-node-id="{node_id}"] .wf-bar').bounding_box()


def test_start_run_watch_steps_and_see_overlapping_branches(console, make_user, make_agent):
    # given: both branches answer slowly, streamed, so they run side by side for a while
    owner = make_user("olga")
    make_agent(owner, name="Diamond", slug="diamond", pipeline=diamond())
    console.llm.script("gpt-main", [Reply(text="left answer", chunks=["left ", "answer"], delay=0.4,
                                          chunk_delay=0.3)])
    console.llm.script("gpt-backup", [Reply(text="right answer", chunks=["right ", "answer"], delay=0.4,
                                            chunk_delay=0.3)])
    page = console.page(owner)

    # when: start it from the overview
    page.goto("/agents/diamond/")
    axe_check(page)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status").filter(has_text="Started: serving version 1.")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_visible()

    # and run it from the run panel, on a page that must not reload
    recent = page.get_by_role("region", name="The agent's last 10 executions")
    expect(recent.locator("tbody")).to_have_text("No executions.")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Question").fill("Which way?")
    page.get_by_role("button", name="Run", exact=True).click()

    # then: the steps appear live, then the output
    steps = page.get_by_role("list", name="Steps of this run")
    expect(steps.locator('[data-node-id="left"] .badge')).to_have_text("running")
    expect(steps.locator('[data-node-id="right"] .badge')).to_have_text("running")
    expect(steps.locator('[data-node-id="left"] .badge')).to_have_text("succeeded")
    expect(steps.locator('[data-node-id="right"] pre')).to_have_text("right answer")
    expect(page.locator("[data-run-output]")).to_have_text("left answer | right answer")
    expect(page.locator("[data-run-status]")).to_have_text("succeeded")
    order = steps.locator("li").evaluate_all("items => items.map(item => item.dataset.nodeId)")
    assert order[0] == "input" and sorted(order[1:3]) == ["left", "right"] and order[3] == "output"
    execution = Execution.objects.get(agent__slug="diamond")
    assert (execution.status, execution.trigger, execution.version) == ("succeeded", "manual", 1)

    # and the last executions show the run, finished, without a reload
    row = recent.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(f'a[href="/executions/{execution.pk}/"]')).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Succeeded")
    assert page.evaluate("window.notReloaded") is True
    console.screenshot(page, "runs_overview_after_a_run")

    # when: the execution's page
    page.get_by_role("link", name="Open the execution").click()
    expect(page.get_by_role("heading", name="Trace")).to_be_visible()

    # then: one bar per step, the two branches overlapping in time
    expect(page.locator(".wf-bar")).to_have_count(4)
    left, right, output = box(page, "left"), box(page, "right"), box(page, "output")
    overlap = min(left["x"] + left["width"], right["x"] + right["width"]) - max(left["x"], right["x"])
    assert overlap > 0.5 * min(left["width"], right["width"]), (left, right)
    assert output["x"] >= max(left["x"] + left["width"], right["x"] + right["width"]) - 2
    page.locator('details[data-node-id="left"] summary').click()
    expect(page.locator('details[data-node-id="left"]')).to_contain_text("fake / gpt-main")
    expect(page.locator('details[data-node-id="left"] pre').first).to_contain_text("Which way?")
    expect(page.locator("#execution-live")).not_to_have_attribute("hx-trigger", re.compile("."))
    axe_check(page)
    page.set_viewport_size({"width": 375, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the execution page scrolls sideways at 375 px ({width} px wide)"


def test_cancel_a_running_execution_from_its_live_page(console, make_user, make_agent):
    # given: a run the fake LLM keeps waiting
    owner = make_user("carl")
    make_agent(owner, name="Slow", slug="slow", pipeline=diamond())
    console.llm.script("gpt-main", [Reply(text="late", delay=20)])
    console.llm.script("gpt-backup", [Reply(text="late", delay=20)])
    page = console.page(owner)
    page.goto("/agents/slow/run/")
    page.get_by_label("Question").fill("Anyone?")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator('[data-node-id="left"] .badge')).to_have_text("running")

    # when: its page, updating live, then cancel
    page.get_by_role("link", name="Open the execution").click()
    live = page.locator("#execution-live")
    expect(live).to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator('details[data-node-id="left"] .wf-duration')).to_contain_text("…")
    axe_check(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel execution").click()

    # then
    expect(page.locator(".execution-status .badge")).to_have_text("Cancelled")
    expect(live).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(page.get_by_role("button", name="Cancel execution")).to_have_count(0)
    assert Execution.objects.get(agent__slug="slow").status == "cancelled"


def test_dashboard_usage_period_switch_and_the_executions_list(console, make_user, make_agent):
    # given
    owner = make_user("dora")
    agent = make_agent(owner, name="Counter", slug="counter")
    for i in range(3):
        make_execution(agent, duration=100 * (i + 1), prompt=10, completion=5, cost="0.002",
                       status="failed" if i == 0 else "succeeded")
    page = console.page(owner)

    # when
    page.goto("/")

    # then
    expect(page.get_by_role("heading", name="Usage, last 30 days")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"Runs per day over the last 30 days: 3 in total, 1 failed"))) \
        .to_be_visible()
    axe_check(page)
    page.set_viewport_size({"width": 375, "height": 800})  # tables scroll sideways there: still keyboard-usable
    axe_check(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("navigation", name="Usage period").get_by_role("link", name="7 days").click()
    expect(page.get_by_role("heading", name="Usage, last 7 days")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/\?days=7$"))
    page.get_by_text("The numbers, day by day").click()
    table = page.get_by_role("table", name=re.compile("Usage per day over the last 7 days"))
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("tbody tr").first).to_contain_text("67%")
    console.screenshot(page, "runs_dashboard")

    # and the executions list, filtered
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    expect(page.get_by_role("heading", name="Executions", level=1)).to_be_visible()
    expect(page.locator("table.executions tbody tr")).to_have_count(3)
    axe_check(page)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.executions tbody tr")).to_have_count(1)
    expect(page.locator("table.executions tbody")).to_contain_text("Failed")
