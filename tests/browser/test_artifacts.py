"""Artifacts in the browser: the list, an HTML artifact in the sandboxed
viewer (its script never runs), and delete after a confirm."""

from playwright.sync_api import expect

from accounts.actor import Actor
from executions.models import Artifact
from executions.services.artifacts import artifact_create
from tests.browser.conftest import axe_check

REPORT = ("<html><body><h1>Quarterly plan</h1><p>Grow.</p>"
          "<script>document.querySelector('h1').textContent = 'script ran'</script></body></html>")


def test_read_an_html_artifact_sandboxed_and_delete_it(console, make_user, make_agent):
    # given an agent with an HTML report and a text note
    owner = make_user("olga")
    agent = make_agent(owner, "Report Bot", slug="report-bot")
    artifact_create(agent, actor=Actor(user=owner), title="Notes", content="plain notes", artifact_type="text")
    report = artifact_create(agent, actor=Actor(user=owner), title="Quarterly plan", content=REPORT)
    page = console.page(owner)

    # the artifacts tab lists both
    page.goto("/agents/report-bot/")
    page.get_by_role("navigation", name="Report Bot").get_by_role("link", name="Artifacts").click()
    expect(page.get_by_role("heading", name="Artifacts", level=2)).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)
    axe_check(page)

    # the HTML one opens in the sandboxed frame, where its script does not run
    page.get_by_role("link", name="Quarterly plan", exact=True).click()
    frame = page.frame_locator("iframe.artifact-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Quarterly plan")
    expect(frame.get_by_text("Grow.")).to_be_visible()
    axe_check(page)
    console.screenshot(page, "artifact_viewer")

    # deleting it asks first, then it is gone
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Artifact “Quarterly plan” deleted.")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    assert not Artifact.objects.filter(pk=report.pk).exists()

    # and the list fits a phone's width
    phone = console.page(owner, width=375, height=740)
    phone.goto("/agents/report-bot/artifacts/")
    expect(phone.get_by_role("link", name="Notes", exact=True)).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    axe_check(phone)
