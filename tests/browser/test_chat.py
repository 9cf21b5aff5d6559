"""Chatting in the browser: the answer streams as deltas over the thread's
WebSocket, Stop cancels the turn mid-answer, and a reload or a dropped
connection mid-answer shows the same turn continuing to its whole answer,
not a truncated one (nor one shown twice); a slash command that changes the
thread (its personality, its name from a first message) shows without a
reload."""

import re
import time

import pytest
from playwright.sync_api import expect

from accounts.actor import Actor
from agents.services.runtime import agent_start
from executions.conversations import journal
from executions.conversations.loop import turn_loop
from executions.conversations.models import Message, Thread
from tests.browser.conftest import axe_check
from tests.fakes.llm_server import Reply


def slow_reply(prefix: str, words: int, delay: float) -> tuple[str, Reply]:
    chunks = [f" {prefix}{i}" for i in range(words)]
    return "".join(chunks).strip(), Reply(text="".join(chunks).strip(), chunks=[chunks[0].lstrip(), *chunks[1:]],
                                          chunk_delay=delay)


@pytest.fixture
def chat_agent(make_user, make_agent):
    owner = make_user("talker")
    agent = make_agent(owner, name="Storyteller", config={"model": {"provider": "fake", "model": "gpt-main"}})
    return owner, agent_start(agent=agent, actor=Actor(user=owner))


def settle(console, page):
    """Save the page, close it, and wait for the server to finish with it
    (sockets following the thread, turns storing their last events), so the
    database is not written to while it is emptied."""
    console.screenshot(page)
    page.context.close()
    deadline = time.monotonic() + 15
    while (turn_loop.pending() or journal.followers()) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_chat_streams_stops_and_continues_after_a_reload(console, chat_agent):
    owner, agent = chat_agent
    page = console.page(owner)
    sockets = []  # the page's WebSockets, through Playwright, so the test can drop one

    def through(socket):
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/agents/"), through)

    # the chat tab: start a thread
    page.goto(f"/agents/{agent.slug}/chat/")
    expect(page.get_by_role("heading", name="Chat", level=2)).to_be_visible()
    axe_check(page)
    page.get_by_label("Title").fill("Bedtime stories")
    page.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", name="Bedtime stories", level=2)).to_be_visible()
    thread = Thread.objects.get(agent=agent)
    chat = page.locator("#chat")
    expect(chat).to_have_attribute("data-connected", "true")
    axe_check(page)

    # a long answer streams: its text grows delta by delta
    _long, reply = slow_reply("w", 60, 0.1)
    console.llm.enqueue(reply)
    page.get_by_label("Message").fill("Tell me a long story")
    page.get_by_label("Message").press("Enter")
    first = page.locator(".chat-turn").nth(0)
    expect(first.locator(".msg--user .msg-body")).to_have_text("Tell me a long story")
    answer = first.locator(".msg--assistant [data-role=text]")
    expect(answer).to_contain_text("w2", timeout=20_000)  # the first call warms the model client up
    early = answer.inner_text()
    expect(answer).to_contain_text(f"w{int(early.split()[-1][1:]) + 3}")  # words after those seen first
    assert len(answer.inner_text()) > len(early)

    # Stop mid-answer: the turn ends cancelled, with what was streamed so far
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    stop.click()
    expect(first.locator("[data-role=status]")).to_have_text("cancelled")
    expect(stop).to_be_hidden()
    stopped = Message.objects.get(thread=thread, role="assistant")
    assert stopped.status == "cancelled"
    assert 0 < len(stopped.content) < len(_long) and _long.startswith(stopped.content)

    # another answer; reload mid-answer: the same turn continues to its end
    full, reply = slow_reply("v", 30, 0.12)
    console.llm.enqueue(reply)
    page.get_by_label("Message").fill("Another one, please")
    page.get_by_role("button", name="Send").click()
    second = page.locator(".chat-turn").nth(1)
    expect(second.locator(".msg--assistant [data-role=text]")).to_contain_text("v3")
    page.reload()
    second = page.locator(".chat-turn").nth(1)
    expect(second.locator(".msg--user .msg-body")).to_have_text("Another one, please")
    text = second.locator(".msg--assistant [data-role=text]")
    expect(text).to_contain_text("v0 v1 v2 v3")  # the part streamed before the reload, replayed
    expect(second.locator(".msg--assistant")).not_to_have_attribute("data-streaming", "", timeout=20_000)
    expect(text).to_have_text(full)
    expect(second.locator(".msg--assistant [data-role=meta]")).to_contain_text(re.compile(r"\d+ tokens"))
    expect(second.locator(".msg--assistant [data-role=meta]")).to_contain_text("first token")
    assert page.locator(".chat-turn").count() == 2  # nothing shown twice
    assert Message.objects.filter(thread=thread, role="assistant").order_by("created_at").last().content == full

    # the connection drops mid-answer: the page reconnects from the last event it had
    full, reply = slow_reply("d", 30, 0.1)
    console.llm.enqueue(reply)
    page.get_by_label("Message").fill("And a third")
    page.get_by_label("Message").press("Enter")
    third = page.locator(".chat-turn").nth(2).locator(".msg--assistant [data-role=text]")
    expect(third).to_contain_text("d3")
    dropped = len(sockets)
    sockets[-1].close(code=3000, reason="network drop")
    expect(chat).to_have_attribute("data-connected", "false")
    expect(chat).to_have_attribute("data-connected", "true")
    assert len(sockets) == dropped + 1
    expect(third).to_have_text(full, timeout=20_000)
    assert page.locator(".chat-turn").count() == 3

    # a tool call and its result as a collapsed card; a slash command answered inline
    console.llm.enqueue(Reply(tool_calls=[("remember", {"content": "The listener likes dragons."}, "call_1")]),
                        Reply(text="I will remember that."))
    page.get_by_label("Message").fill("Remember that I like dragons")
    page.get_by_label("Message").press("Enter")
    fourth = page.locator(".chat-turn").nth(3)
    card = fourth.locator("details.tool-card")
    expect(card.locator("summary")).to_contain_text("remember")
    expect(card).not_to_have_attribute("open", "")
    expect(fourth.locator(".msg--assistant [data-role=text]")).to_have_text("I will remember that.")
    card.locator("summary").click()
    expect(card.locator("[data-role=arguments]")).to_contain_text('"content": "The listener likes dragons."')
    expect(card.locator("[data-role=result]")).not_to_be_empty()
    page.get_by_label("Message").fill("/help")
    page.get_by_label("Message").press("Enter")
    fifth = page.locator(".chat-turn").nth(4)
    expect(fifth.locator(".msg--assistant [data-role=text]")).to_contain_text("Commands")
    expect(fifth.locator(".msg--assistant [data-role=meta]")).to_have_text("Answered by the server, not the model")

    # a command that changes the thread: its personality badge appears without a reload
    page.evaluate("window.notReloaded = true")
    badge = page.locator("#thread-personality")
    expect(badge).to_be_hidden()
    page.get_by_label("Message").fill("/personality set concise")
    page.get_by_label("Message").press("Enter")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("Personality: concise")
    expect(page.get_by_role("heading", name="Bedtime stories", level=2)).to_be_visible()  # named by its starter
    assert page.evaluate("window.notReloaded") is True

    # narrow screens: the thread list goes below, nothing scrolls sideways
    narrow = console.page(owner, width=375, height=740)
    narrow.goto(f"/agents/{agent.slug}/chat/{thread.pk}/")
    expect(narrow.locator(".chat-turn")).to_have_count(6)
    expect(narrow.locator("#thread-personality")).to_have_text("Personality: concise")  # stored, too
    width = narrow.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the thread page scrolls sideways at 375 px ({width} px wide)"
    narrow.context.close()
    settle(console, page)


def test_a_first_command_names_and_restyles_the_thread_live(console, chat_agent):
    owner, agent = chat_agent
    page = console.page(owner)

    # given: a thread started without a title
    page.goto(f"/agents/{agent.slug}/chat/")
    page.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", name="New Conversation", level=2)).to_be_visible()
    expect(page.locator("#chat")).to_have_attribute("data-connected", "true")
    page.evaluate("window.notReloaded = true")

    # when: its first message is a command that sets its personality
    page.get_by_label("Message").fill("/personality set teacher")
    page.get_by_label("Message").press("Enter")

    # then: the title and the badge change in place, everywhere the page shows them
    named = "/personality set teacher"
    expect(page.get_by_role("heading", name=named, level=2)).to_be_visible()
    expect(page.locator("#thread-personality")).to_have_text("Personality: teacher")
    breadcrumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumbs.get_by_role("link", name=named)).to_have_attribute("aria-current", "page")
    expect(page.locator(".thread-list a[aria-current=page]")).to_have_text(named)
    expect(page).to_have_title(re.compile(rf"^{re.escape(named)} · Chat · {agent.name}"))
    assert page.evaluate("window.notReloaded") is True
    thread = Thread.objects.get(agent=agent)
    assert (thread.title, thread.personality) == (named, "teacher")
    axe_check(page)
    settle(console, page)
