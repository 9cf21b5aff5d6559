"""Roles in the browser: the owner adds a member as viewer by email; the
viewer reads the agent's pages but sees no edit, run or delete controls, and
posting an edit form anyway is refused with nothing changed; a non-member
gets 404 for every page of the agent."""

import re

from playwright.sync_api import expect

from accounts.actor import Actor
from agents.models import AgentMember, AgentVersion, AuditLogEntry, Memory, Schedule
from agents.services.memories import memory_create
from agents.services.schedules import schedule_create
from agents.services.versions import version_save
from tests.browser.conftest import axe_check

CONFIG = {"instructions": "Only the owner changes this.", "model": {"provider": "fake", "model": "gpt-main"}}
# What a viewer must not be offered anywhere: changing, running or deleting.
FORBIDDEN = re.compile(r"\b(Save|Roll back|Delete|Remove|Add|Attach|Detach|Pause|Resume|Run|Start|Stop|Redeploy|"
                       r"Forget|Change role|Transfer|Rotate|Create|Disable|Make|Send|Upload|Cancel)\b")
PAGES = ["", "configuration/", "versions/", "schedules/", "members/", "audit/", "memories/", "skills/"]


def button_names(page) -> list[str]:
    return [name.strip() for name in page.locator("main button").all_inner_texts()]


def test_a_viewer_reads_but_cannot_change_and_a_stranger_sees_nothing(console, make_user, make_agent):
    owner, viewer, stranger = make_user("olive"), make_user("vince"), make_user("stan")
    agent = make_agent(owner, "Guarded", config=CONFIG)
    version_save(agent=agent, actor=Actor(user=owner), changelog="baseline")
    schedule_create(agent=agent, actor=Actor(user=owner), data={"name": "nightly", "cron": "0 2 * * *"})
    memory_create(agent, actor=Actor(user=owner), content="Remember the baseline.")

    # the owner adds the viewer by email on the members page
    page = console.page(owner)
    page.goto(f"/agents/{agent.slug}/members/")
    expect(page.get_by_role("heading", name="Members", level=2)).to_be_visible()
    axe_check(page)
    page.get_by_role("textbox", name="Email", exact=True).fill("nobody@example.com")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator('[data-field="email"] .errorlist').first).to_have_text("No active user matches.")
    page.get_by_role("textbox", name="Email", exact=True).fill(viewer.email)
    page.get_by_role("combobox", name="Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text(f"Added {viewer.email} as viewer.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(re.escape(viewer.email)))).to_contain_text("Viewer")
    axe_check(page)
    assert AgentMember.objects.get(agent=agent, user=viewer).role == "viewer"
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="member.added").count() == 1

    # the viewer reads every tab they may see, and is offered nothing that changes the agent
    as_viewer = console.page(viewer)
    for path in PAGES:
        response = as_viewer.goto(f"/agents/{agent.slug}/{path}")
        assert response.status == 200, path
        expect(as_viewer.get_by_text("Your role: Viewer")).to_be_visible()
        offered = [name for name in button_names(as_viewer) if FORBIDDEN.search(name)]
        assert offered == [], f"{path or 'overview'} offers a viewer {offered}"
    tabs = as_viewer.get_by_role("navigation", name="Guarded").get_by_role("link").all_inner_texts()
    assert "Webhook" not in tabs and "Export" not in tabs  # admin tabs stay hidden
    as_viewer.goto(f"/agents/{agent.slug}/configuration/")
    expect(as_viewer.get_by_text("Only the owner changes this.")).to_be_visible()
    expect(as_viewer.locator("#id_instructions")).to_have_count(0)
    as_viewer.goto(f"/agents/{agent.slug}/versions/")
    expect(as_viewer.get_by_role("row", name=re.compile("v1 .*baseline"))).to_be_visible()
    axe_check(as_viewer)
    as_viewer.goto(f"/agents/{agent.slug}/members/")
    expect(as_viewer.get_by_role("button", name="Leave this agent")).to_be_visible()  # only themselves
    expect(as_viewer.get_by_role("heading", name="Add a member")).to_have_count(0)

    # posting the edit forms anyway, with a valid CSRF token, is refused and changes nothing
    csrf = next(c["value"] for c in as_viewer.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf}
    attempts = {
        "configuration/": {"instructions": "Hijacked."},
        "versions/": {"changelog": "sneaky"},
        "versions/1/rollback/": {},
        "schedules/": {"cron": "* * * * *", "timezone": "UTC", "input": "{}"},
        f"schedules/{Schedule.objects.get(agent=agent).pk}/delete/": {},
        "members/": {"email": stranger.email, "role": "viewer"},
        f"memories/{Memory.objects.get(agent=agent).pk}/delete/": {},
        "webhooks/rotate/": {},
    }
    for path, form in attempts.items():
        response = as_viewer.request.post(f"/agents/{agent.slug}/{path}", form=form, headers=headers)
        assert response.status == 403, (path, response.status)
    agent.refresh_from_db()
    assert agent.config["instructions"] == "Only the owner changes this."
    assert AgentVersion.objects.filter(agent=agent).count() == 1
    assert Schedule.objects.filter(agent=agent).count() == 1 and Memory.objects.filter(agent=agent).count() == 1
    assert not AgentMember.objects.filter(agent=agent, user=stranger).exists()
    assert not agent.webhook_secret_hash
    # the refusal is a page a person can read, not a bare status
    as_viewer.goto(f"/agents/{agent.slug}/versions/")
    as_viewer.evaluate("""() => {
        const form = document.createElement('form');
        form.method = 'post';
        form.innerHTML = '<input name="csrfmiddlewaretoken" value="' + document.cookie.match(/csrftoken=([^;]+)/)[1]
                       + '"><input name="changelog" value="via a forged form">';
        document.body.append(form);
        form.submit();
    }""")
    expect(as_viewer.get_by_role("heading", name="Not allowed", level=1)).to_be_visible()
    expect(as_viewer.get_by_text(re.compile("needs the admin role on this agent; you have viewer"))).to_be_visible()
    assert AgentVersion.objects.filter(agent=agent).count() == 1

    # a non-member gets 404 for every page of the agent, as if it did not exist
    as_stranger = console.page(stranger)
    for path in [*PAGES, "webhooks/", "export/", "versions/diff/"]:
        response = as_stranger.goto(f"/agents/{agent.slug}/{path}")
        assert response.status == 404, path
    expect(as_stranger.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    stranger_csrf = next(c["value"] for c in as_stranger.context.cookies() if c["name"] == "csrftoken")
    response = as_stranger.request.post(f"/agents/{agent.slug}/versions/", form={"changelog": "x"},
                                        headers={"X-CSRFToken": stranger_csrf})
    assert response.status == 404  # not even told it is forbidden
    axe_check(as_stranger)
