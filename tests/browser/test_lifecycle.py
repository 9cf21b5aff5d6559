"""An agent's lifecycle in the browser: save a version, change the
configuration, save another, read the diff side by side, roll back through
the confirm dialog; a schedule with its next five runs previewed as you type;
and the other lifecycle pages (webhook, audit, export, import, memories,
skills) used once each, with axe-core on every one."""

import json
import re

from playwright.sync_api import expect

from accounts.actor import Actor
from agents.models import Agent, AgentSkill, AuditAction, AuditLogEntry, Memory, Schedule, Skill
from agents.services import agent_update
from agents.services.versions import version_save
from tests.browser.conftest import axe_check

CONFIG = {"instructions": "Answer briefly.", "model": {"provider": "fake", "model": "gpt-main"}}


def tab(page, agent_name, label):
    page.get_by_role("navigation", name=agent_name).get_by_role("link", name=label, exact=True).click()


def test_versions_diff_and_rollback(console, make_user, make_agent):
    # given an agent with a configuration
    owner = make_user("vera")
    agent = make_agent(owner, "Helpdesk", config=CONFIG)
    page = console.page(owner)
    page.goto(f"/agents/{agent.slug}/versions/")
    expect(page.get_by_role("heading", name="Versions", level=2)).to_be_visible()
    expect(page.get_by_role("cell", name="No versions yet. Save one above.")).to_be_visible()
    axe_check(page)

    # save version 1
    page.get_by_label("What changed").fill("First cut")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_text("Saved version 1.")).to_be_visible()
    expect(page.locator("#draft-state")).to_contain_text("same as version 1")

    # change the instructions on the configuration tab, then save version 2
    tab(page, "Helpdesk", "Configuration")
    page.locator("#id_instructions").fill("Answer at length, with examples.")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_text("Configuration saved.")).to_be_visible()
    tab(page, "Helpdesk", "Versions")
    expect(page.locator("#draft-state")).to_contain_text("not saved as a version")
    page.get_by_label("What changed").fill("Longer answers")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_text("Saved version 2.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("v2 .*Longer answers"))).to_be_visible()

    # the diff between them, side by side: the old line left, the new one right
    page.get_by_role("link", name="Compare versions").click()
    page.locator("#id_a").select_option("1")  # "From"
    page.locator("#id_b").select_option("2")  # "To"
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"versions/diff/\?a=1&b=2"))
    changed = page.locator("tr.diff-row--changed")
    expect(changed).to_have_count(1)
    expect(changed.locator("td.diff-line--removed")).to_contain_text('"instructions": "Answer briefly."')
    expect(changed.locator("td.diff-line--added")).to_contain_text('"instructions": "Answer at length, with examples."')
    expect(page.get_by_role("row", name=re.compile(r"config\.instructions"))).to_be_visible()
    axe_check(page)
    page.emulate_media(color_scheme="dark")  # the highlighted lines keep their contrast in the dark theme
    axe_check(page)
    console.screenshot(page, "lifecycle_version_diff")
    page.emulate_media(color_scheme="light")

    # roll back to version 1, accepting the confirm dialog
    page.get_by_role("link", name="Versions", exact=True).first.click()
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.get_by_text(re.compile("Rolled back: the working configuration is version 1's again"))).to_be_visible()
    assert dialogs and "Roll the working configuration back to version 1?" in dialogs[0]
    expect(page.locator("#draft-state")).to_contain_text("same as version 1")

    # the configuration is restored, in the page and in the database
    tab(page, "Helpdesk", "Configuration")
    expect(page.locator("#id_instructions")).to_have_value("Answer briefly.")
    agent.refresh_from_db()
    assert agent.config["instructions"] == "Answer briefly."
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action=AuditAction.VERSION_ROLLED_BACK).count() == 1


def test_a_dismissed_confirm_rolls_nothing_back(console, make_user, make_agent):
    owner = make_user("vic")
    agent = make_agent(owner, "Careful", config=CONFIG)
    version_save(agent=agent, actor=Actor(user=owner))
    agent_update(agent=agent, actor=Actor(user=owner), changes={"config": {"instructions": "Changed."}})
    page = console.page(owner)
    page.goto(f"/agents/{agent.slug}/versions/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.locator("#draft-state")).to_contain_text("not saved as a version")
    agent.refresh_from_db()
    assert agent.config["instructions"] == "Changed."


def test_schedule_created_with_its_next_five_runs_previewed(console, make_user, make_agent):
    owner = make_user("sam")
    agent = make_agent(owner, "Reporter", config=CONFIG)
    page = console.page(owner)
    page.goto(f"/agents/{agent.slug}/schedules/")
    expect(page.get_by_role("heading", name="Schedules", level=2)).to_be_visible()
    axe_check(page)

    # typing a cron previews its next five runs in the chosen time zone (htmx)
    preview = page.locator("#schedule-preview")
    page.get_by_label("Cron").fill("30 8 * * 1-5")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    expect(preview.locator("ol li")).to_have_count(5)
    expect(preview).to_contain_text("in Europe/Paris")
    for item in preview.locator("ol li time").all_text_contents():
        assert re.match(r"(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 08:30$", item), item
    # a mistake shows at once, with the schedules service's own words
    page.get_by_label("Cron").fill("30 25 * * *")
    expect(preview.locator("#preview-error")).to_contain_text("Not a valid cron expression")
    page.get_by_label("Cron").fill("30 8 * * 1-5")
    expect(preview.locator("ol li")).to_have_count(5)

    page.get_by_label("Name").fill("weekday report")
    page.get_by_label("Input (JSON)").fill('{"message": "Morning report"}')
    page.get_by_role("button", name="Add schedule").click()
    expect(page.get_by_text("Added schedule 'weekday report'.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("weekday report"))
    expect(row).to_contain_text("Europe/Paris")
    expect(row).to_contain_text("enabled")
    expect(row).to_contain_text('{"message": "Morning report"}')
    schedule = Schedule.objects.get(agent=agent)
    assert (schedule.cron, schedule.timezone, schedule.input) == ("30 8 * * 1-5", "Europe/Paris",
                                                                  {"message": "Morning report"})
    axe_check(page)
    console.screenshot(page, "lifecycle_schedules")

    # pause it, then delete it through the confirm dialog
    row.get_by_role("button", name="Pause weekday report").click()
    expect(page.get_by_text("Paused schedule 'weekday report'.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("weekday report"))).to_contain_text("paused")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete weekday report").click()
    expect(page.get_by_text("Deleted schedule 'weekday report'.")).to_be_visible()
    assert not Schedule.objects.filter(agent=agent).exists()


def test_webhook_audit_export_import_memories_and_skills_pages(console, make_user, make_agent):
    owner = make_user("olga")
    agent = make_agent(owner, "Everything", config=CONFIG)
    page = console.page(owner)

    # webhook: created, its URL shown once with a copy button
    page.goto(f"/agents/{agent.slug}/webhooks/")
    axe_check(page)
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("heading", name="Your new webhook URL")).to_be_visible()
    expect(page.get_by_role("textbox", name="Webhook URL")).to_have_value(
        re.compile(rf"/api/v1/hooks/{agent.pk}/[\w-]+$"))
    expect(page.get_by_role("button", name="Copy URL")).to_be_visible()
    axe_check(page)

    # memories: add one
    tab(page, "Everything", "Memories")
    page.get_by_label("Content").fill("The customer is always named Pat.")
    page.get_by_label("Kind").first.select_option("rule")
    page.get_by_role("button", name="Add memory").click()
    expect(page.get_by_text("Memory added.")).to_be_visible()
    expect(page.get_by_role("cell", name="The customer is always named Pat.", exact=True)).to_be_visible()
    axe_check(page)
    assert Memory.objects.get(agent=agent).kind == "rule"

    # skills: create one in the library, attach it to the agent
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Skills").click()
    expect(page.get_by_role("heading", name="Skill library", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Refunds")
    page.get_by_label("Content").fill("Refund within 30 days.")
    page.get_by_label("Tags").fill("support, billing")
    page.get_by_role("button", name="Add skill").click()
    expect(page.get_by_text("Added skill 'Refunds' to your library.")).to_be_visible()
    axe_check(page)
    page.goto(f"/agents/{agent.slug}/skills/")
    page.get_by_label("Skill from your library").select_option(label="Refunds")
    page.get_by_role("button", name="Attach skill").click()
    expect(page.get_by_text("Attached skill 'Refunds'.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Refunds"))).to_be_visible()
    axe_check(page)
    assert AgentSkill.objects.filter(agent=agent, skill__name="Refunds").exists()

    # the audit log shows all of it, filterable by action
    tab(page, "Everything", "Audit log")
    expect(page.locator("tr[data-action='webhook.rotated']")).to_have_count(1)
    expect(page.locator("tr[data-action='memory.created']")).to_have_count(1)
    expect(page.locator("tr[data-action='skill.attached']")).to_have_count(1)
    axe_check(page)
    page.get_by_label("Action").select_option("memory.created")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody > tr[data-action]")).to_have_count(1)
    page.locator("tr[data-action='memory.created'] summary").click()
    expect(page.locator("tr[data-action='memory.created'] .changes-table")).to_contain_text("Pat")

    # export: a POST download of the API's document
    tab(page, "Everything", "Export")
    axe_check(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    assert download.value.suggested_filename == f"{agent.slug}.agent.json"
    document = json.loads(open(download.value.path()).read())
    assert document["agent"]["skills"][0]["name"] == "Refunds"

    # import it under a new slug from the import page, and read the summary
    document["agent"]["slug"] = "everything-again"
    document["agent"]["name"] = "Everything again"
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import agents", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_label("Export file").set_input_files(
        files=[{"name": "again.json", "mimeType": "application/json", "buffer": json.dumps(document).encode()}])
    page.get_by_role("button", name="Import").click()
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("Created (1)")
    expect(summary.get_by_role("link", name="everything-again")).to_be_visible()
    axe_check(page)
    assert Agent.objects.get(slug="everything-again").owner == owner
    assert Skill.objects.filter(owner=owner, name="Refunds").count() == 1  # the same skill, reused
