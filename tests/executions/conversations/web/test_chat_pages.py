"""The chat tab's pages: who may see them, what they show, how they follow
the thread's events, and the queries they cost."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.conversations.models import Message, MessageStatus, Thread, ThreadEvent


@pytest.fixture
def owner(make_user):
    return make_user("chat-owner")


@pytest.fixture
def agent(make_chat_agent, owner):
    return make_chat_agent(owner, name="Helpdesk", start=False)


def chat_url(agent, thread=None, rest=""):
    return f"/agents/{agent.slug}/chat/" + (f"{thread.pk}/" if thread else "") + rest


def make_thread(agent, user, title="Printer trouble", **fields):
    return Thread.objects.create(agent=agent, created_by=user, title=title, **fields)


def say(thread, role, content, **fields):
    return Message.objects.create(thread=thread, role=role, content=content, **fields)


def chat_state(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="chat-state" type="application/json">') + len(
        '<script id="chat-state" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


@pytest.mark.parametrize("role, status", [("owner", 200), ("viewer", 200), ("operator", 200), (None, 404)])
def test_chat_page_by_role(client, agent, owner, make_user, add_member, role, status):
    # given
    user = owner if role == "owner" else make_user()
    if role not in ("owner", None):
        add_member(agent, user, role)
    client.force_login(user)
    # when
    response = client.get(chat_url(agent))
    # then
    assert response.status_code == status
    if status == 200:
        assert '<h2 id="tab-heading">Chat</h2>' in response.content.decode()


@pytest.mark.parametrize("role, status", [("owner", 200), ("viewer", 200), (None, 404)])
def test_thread_page_by_role(client, agent, owner, make_user, add_member, role, status):
    thread = make_thread(agent, owner)
    user = owner if role == "owner" else make_user()
    if role == "viewer":
        add_member(agent, user, role)
    client.force_login(user)

    response = client.get(chat_url(agent, thread))

    assert response.status_code == status
    if status == 404:
        assert "Printer trouble" not in response.content.decode()


def test_anonymous_is_sent_to_log_in(client, agent, owner):
    thread = make_thread(agent, owner)
    for url in (chat_url(agent), chat_url(agent, thread)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_a_thread_of_another_agent_is_not_found(client, agent, owner, make_chat_agent):
    other = make_chat_agent(owner, name="Other", start=False)
    thread = make_thread(other, owner)
    client.force_login(owner)
    assert client.get(chat_url(agent, thread)).status_code == 404


def test_the_chat_tab_is_listed_among_the_agent_tabs(client, agent, owner):
    client.force_login(owner)
    html = client.get(chat_url(agent)).content.decode()
    assert f'<a href="/agents/{agent.slug}/chat/" aria-current="page">Chat</a>' in html


def test_thread_list_shows_mine_by_default_and_every_members_on_request(client, agent, owner, make_user,
                                                                         add_member):
    # given
    operator = make_user("op")
    add_member(agent, operator, "operator")
    make_thread(agent, owner, title="Owner's thread")
    make_thread(agent, operator, title="Operator's thread")
    make_thread(agent, operator, title="Old thread", archived=True)
    client.force_login(operator)
    # when
    mine = client.get(chat_url(agent)).content.decode()
    every = client.get(chat_url(agent) + "?show=all").content.decode()
    archive = client.get(chat_url(agent) + "?archived=1").content.decode()
    # then
    assert "Operator&#x27;s thread" in mine and "Owner&#x27;s thread" not in mine and "Old thread" not in mine
    assert "Operator&#x27;s thread" in every and "Owner&#x27;s thread" in every
    assert "Old thread" in archive and "Operator&#x27;s thread" not in archive


def test_thread_page_shows_turns_tool_cards_and_what_each_answer_cost(client, agent, owner):
    # given
    thread = make_thread(agent, owner)
    question = say(thread, "user", "Is the printer on?")
    say(thread, "assistant", "It is on.", tokens_prompt=30, tokens_completion=12, cost_usd="0.000156",
        ttft_ms=210, latency_ms=840, model="gpt-main",
        tool_calls=[{"id": "call_1", "name": "http_request", "arguments": '{"url": "http://printer/status"}',
                     "result": "online"}])
    say(thread, "user", "/help", command="help")
    say(thread, "assistant", "Commands (answered by the server, not the model):", command="help")
    client.force_login(owner)
    # when
    response = client.get(chat_url(agent, thread))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="msg-body">Is the printer on?</div>' in html
    assert '<div class="msg-body" data-role="text">It is on.</div>' in html
    assert '<details class="tool-card" data-tool-id="call_1">' in html
    assert "<code>http_request</code>" in html
    assert "&quot;url&quot;: &quot;http://printer/status&quot;" in html
    assert '<pre data-role="result">online</pre>' in html
    assert "<span>42 tokens (30 in, 12 out)</span>" in html
    assert "<span>$0.000156</span>" in html
    assert "<span>first token 210 ms</span>" in html
    assert "<span>840 ms in all</span>" in html
    assert "Answered by the server, not the model" in html
    assert chat_state(response)["answered"] == [str(question.pk), str(Message.objects.get(content="/help").pk)]


def test_thread_page_marks_what_a_command_changes_live(client, agent, owner):
    # given: one thread with a personality set by /personality, one without
    styled = make_thread(agent, owner, title="Styled", personality="concise")
    plain = make_thread(agent, owner, title="Plain")
    client.force_login(owner)

    # when
    styled_html = client.get(chat_url(agent, styled)).content.decode()
    plain_html = client.get(chat_url(agent, plain)).content.decode()

    # then: the badge chat.js updates, hidden until there is a personality
    assert '<span class="badge badge--personality" id="thread-personality" ' in styled_html
    assert 'id="thread-personality" title="Set with /personality set &lt;preset&gt;">Personality: concise</span>' \
        in styled_html
    assert 'id="thread-personality" title="Set with /personality set &lt;preset&gt;" hidden>Personality: </span>' \
        in plain_html
    assert '<h2 id="tab-heading">Plain</h2>' in plain_html
    # the breadcrumb and the thread list's entry: the links to this page chat.js renames
    assert plain_html.count(f'<a href="{chat_url(agent, plain)}" aria-current="page">Plain</a>') == 2


def test_a_running_turn_is_followed_from_just_before_its_first_event(client, agent, owner):
    # given: an earlier turn (seq 1..3) and a running one whose start is stored (seq 4, 5)
    thread = make_thread(agent, owner, driver="host:1:abc", last_event_seq=5)
    earlier = say(thread, "user", "first")
    say(thread, "assistant", "answer")
    running = say(thread, "user", "second")
    for seq, event, message in [(1, "thread.message.created", earlier), (2, "thread.message.delta", earlier),
                                (3, "thread.run.completed", earlier), (4, "thread.message.created", running),
                                (5, "thread.message.delta", running)]:
        ThreadEvent.objects.create(thread=thread, seq=seq, event=event, data={"message_id": str(message.pk)})
    client.force_login(owner)
    # when
    response = client.get(chat_url(agent, thread))
    # then
    state = chat_state(response)
    assert state == {"followSeq": 3, "answered": [str(earlier.pk)]}
    html = response.content.decode()
    assert '<article class="msg msg--assistant" data-streaming aria-busy="true">' in html
    assert 'id="stop-button" class="danger"' in html and "formnovalidate>Stop</button>" in html


def test_an_idle_thread_is_followed_from_its_last_stored_event(client, agent, owner):
    thread = make_thread(agent, owner, last_event_seq=12)
    client.force_login(owner)
    response = client.get(chat_url(agent, thread))
    assert chat_state(response)["followSeq"] == 12
    assert "formnovalidate hidden>Stop</button>" in response.content.decode()


def test_queued_messages_wait_after_the_conversation(client, agent, owner):
    thread = make_thread(agent, owner, driver="host:1:abc")
    say(thread, "user", "running one")
    queued = say(thread, "user", "next one", status=MessageStatus.PENDING)
    client.force_login(owner)
    html = client.get(chat_url(agent, thread)).content.decode()
    assert f'data-turn="{queued.pk}" data-queued-turn' in html
    assert html.index("running one") < html.index("next one")
    assert '<span class="badge badge--pending" data-role="queued">queued</span>' in html


def test_viewer_reads_but_gets_no_write_controls(client, agent, owner, make_user, add_member):
    viewer = make_user("watcher")
    add_member(agent, viewer, "viewer")
    thread = make_thread(agent, owner)
    say(thread, "user", "hello")
    client.force_login(viewer)

    html = client.get(chat_url(agent, thread)).content.decode()

    assert "hello" in html
    assert f'<a href="/agents/{agent.slug}/chat/{thread.pk}/" aria-current="page">Printer trouble</a>' in html
    for control in ('id="composer"', "Delete thread", "Start thread", 'class="secondary">Archive',
                    "<summary>Rename</summary>"):
        assert control not in html
    assert "chatting needs the operator role" in html


def test_operator_reads_another_members_thread_but_cannot_write_to_it(client, agent, owner, make_user,
                                                                      add_member):
    operator = make_user("op2")
    add_member(agent, operator, "operator")
    thread = make_thread(agent, owner)
    client.force_login(operator)

    html = client.get(chat_url(agent, thread)).content.decode()

    assert 'id="composer"' not in html and "Delete thread" not in html
    assert f"Only {owner.username}, who started this thread, writes to it." in html
    assert "Start thread" in html  # their own threads they may start


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_thread_list_costs_the_same_queries_for_one_thread_or_many(client, agent, owner, make_user,
                                                                   add_member, django_assert_num_queries):
    client.force_login(owner)
    make_thread(agent, owner)
    one = queries_for(client, chat_url(agent) + "?show=all")
    for n in range(8):
        member = make_user()
        add_member(agent, member, "operator")
        make_thread(agent, member, title=f"Thread {n}")
    with django_assert_num_queries(one):
        assert client.get(chat_url(agent) + "?show=all").status_code == 200


def test_thread_page_costs_the_same_queries_for_few_messages_or_many(client, agent, owner,
                                                                     django_assert_num_queries):
    client.force_login(owner)
    thread = make_thread(agent, owner)
    say(thread, "user", "one")
    say(thread, "assistant", "two")
    few = queries_for(client, chat_url(agent, thread))
    for n in range(20):
        say(thread, "user", f"q{n}")
        say(thread, "assistant", f"a{n}", tool_calls=[{"id": f"c{n}", "name": "remember", "arguments": {},
                                                        "result": "ok"}])
    with django_assert_num_queries(few):
        assert client.get(chat_url(agent, thread)).status_code == 200
