"""The chat tab's forms post through the same services as the threads API:
the database changes as the API would change it (the thread services write
no audit entry, through the API or here), invalid input comes back beside
its field, and a role or thread the API refuses is refused here too."""

import pytest

from agents.models import AuditLogEntry
from executions.conversations.models import Message, MessageStatus, Thread
from tests.executions.conversations.conftest import wait_idle
from tests.fakes.llm_server import Reply


@pytest.fixture
def owner(make_user):
    return make_user("chat-owner")


@pytest.fixture
def agent(make_chat_agent, owner):
    return make_chat_agent(owner, name="Helpdesk", start=False)


def chat_url(agent, thread=None, rest=""):
    return f"/agents/{agent.slug}/chat/" + (f"{thread.pk}/" if thread else "") + rest


def field_errors(response, field: str) -> str:
    """The error list rendered beside ``field`` (console/includes/field.html)."""
    html = response.content.decode()
    start = html.index(f'data-field="{field}"')
    end = html.index("</div>", start)
    block = html[start:end]
    assert 'class="errorlist"' in block, block
    return block


def audit_count(agent) -> int:
    return AuditLogEntry.objects.filter(agent_ref=agent.pk).count()


# --- starting a thread ----------------------------------------------------------------------

def test_owner_starts_a_thread_with_a_title(client, agent, owner):
    # given
    client.force_login(owner)
    audited = audit_count(agent)
    # when
    response = client.post(chat_url(agent), {"new-title": "  Billing question "})
    # then
    thread = Thread.objects.get(agent=agent)
    assert response.status_code == 302
    assert response["Location"] == chat_url(agent, thread)
    assert (thread.title, thread.title_set, thread.created_by) == ("Billing question", True, owner)
    assert audit_count(agent) == audited


def test_a_thread_without_a_title_gets_the_default_one(client, agent, owner):
    client.force_login(owner)
    client.post(chat_url(agent), {"new-title": ""})
    thread = Thread.objects.get(agent=agent)
    assert (thread.title, thread.title_set) == ("New Conversation", False)


def test_a_title_too_long_is_refused_beside_the_field(client, agent, owner):
    client.force_login(owner)
    response = client.post(chat_url(agent), {"new-title": "x" * 201})
    assert response.status_code == 400
    assert "at most 200 characters" in field_errors(response, "title")
    assert not Thread.objects.exists()


def test_the_session_limit_comes_back_as_a_form_error(client, make_chat_agent, owner):
    # given: the policy allows one live session per user, and the owner has one
    agent = make_chat_agent(owner, name="Limited", start=False,
                            config={"session_policy": {"max_concurrent_sessions_per_user": 1}})
    client.force_login(owner)
    client.post(chat_url(agent), {"new-title": "first"})
    # when
    response = client.post(chat_url(agent), {"new-title": "second"})
    # then
    assert response.status_code == 429
    assert "You already have 1 active session with this agent" in response.content.decode()
    assert 'class="errorlist errorlist--form"' in response.content.decode()
    assert list(Thread.objects.values_list("title", flat=True)) == ["first"]


def test_viewer_cannot_start_a_thread(client, agent, make_user, add_member):
    viewer = make_user()
    add_member(agent, viewer, "viewer")
    client.force_login(viewer)
    response = client.post(chat_url(agent), {"new-title": "mine"})
    assert response.status_code == 403
    assert not Thread.objects.exists()


def test_operator_starts_a_thread(client, agent, make_user, add_member):
    operator = make_user()
    add_member(agent, operator, "operator")
    client.force_login(operator)
    assert client.post(chat_url(agent), {"new-title": "ops"}).status_code == 302
    assert Thread.objects.get().created_by == operator


# --- renaming, archiving, deleting, stopping ------------------------------------------------------

@pytest.fixture
def thread(agent, owner):
    thread = Thread.objects.create(agent=agent, created_by=owner, title="Printer trouble")
    Message.objects.create(thread=thread, role="user", content="hello")
    return thread


def test_owner_renames_the_thread(client, agent, owner, thread):
    client.force_login(owner)
    response = client.post(chat_url(agent, thread, "rename/"), {"rename-title": "Printer fixed"})
    assert response.status_code == 302 and response["Location"] == chat_url(agent, thread)
    thread.refresh_from_db()
    assert (thread.title, thread.title_set) == ("Printer fixed", True)
    page = client.get(chat_url(agent, thread)).content.decode()
    assert "Renamed to “Printer fixed”." in page


def test_a_bad_title_re_renders_the_thread_page_with_the_error_beside_it(client, agent, owner, thread):
    client.force_login(owner)
    response = client.post(chat_url(agent, thread, "rename/"), {"rename-title": "bad\x00title"})
    assert response.status_code == 400
    assert "Null characters are not allowed." in field_errors(response, "title")
    assert "<details class=\"rename\" open>" in response.content.decode()
    thread.refresh_from_db()
    assert thread.title == "Printer trouble"


def test_another_operator_cannot_rename_archive_delete_or_stop_a_thread_they_did_not_start(
        client, agent, thread, make_user, add_member):
    operator = make_user()
    add_member(agent, operator, "operator")
    client.force_login(operator)
    for rest, data in [("rename/", {"rename-title": "mine now"}), ("archive/", {"archived": "1"}),
                       ("delete/", {}), ("cancel/", {}), ("", {"message": "hi"})]:
        assert client.post(chat_url(agent, thread, rest), data).status_code == 404, rest
    thread.refresh_from_db()
    assert (thread.title, thread.archived) == ("Printer trouble", False)
    assert thread.messages.count() == 1


def test_viewer_posts_are_refused(client, agent, thread, make_user, add_member):
    viewer = make_user()
    add_member(agent, viewer, "viewer")
    client.force_login(viewer)
    for rest in ("rename/", "archive/", "delete/", "cancel/", ""):
        assert client.post(chat_url(agent, thread, rest), {"rename-title": "x", "message": "x"}).status_code == 403
    assert Thread.objects.filter(pk=thread.pk, title="Printer trouble", archived=False).exists()


def test_owner_archives_and_brings_back_the_thread(client, agent, owner, thread):
    client.force_login(owner)
    response = client.post(chat_url(agent, thread, "archive/"), {"archived": "1"})
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.archived and thread.archived_at is not None
    page = client.get(chat_url(agent, thread)).content.decode()
    assert "This thread is archived: bring it back to continue it." in page
    assert 'id="composer"' not in page

    client.post(chat_url(agent, thread, "archive/"), {"archived": "0"})
    thread.refresh_from_db()
    assert not thread.archived and thread.archived_at is None


def test_owner_deletes_the_thread_with_its_messages(client, agent, owner, thread):
    client.force_login(owner)
    audited = audit_count(agent)
    response = client.post(chat_url(agent, thread, "delete/"))
    assert response.status_code == 302 and response["Location"] == chat_url(agent)
    assert not Thread.objects.filter(pk=thread.pk).exists()
    assert not Message.objects.filter(thread_id=thread.pk).exists()
    assert audit_count(agent) == audited
    assert "“Printer trouble” deleted with its messages." in client.get(chat_url(agent)).content.decode()


def test_stop_without_a_running_turn_says_so(client, agent, owner, thread):
    client.force_login(owner)
    response = client.post(chat_url(agent, thread, "cancel/"), follow=True)
    assert response.status_code == 200
    assert "No turn was running." in response.content.decode()


def test_the_delete_form_asks_first(client, agent, owner, thread):
    client.force_login(owner)
    html = client.get(chat_url(agent, thread)).content.decode()
    assert 'data-confirm="Delete “Printer trouble” and all its messages? This cannot be undone."' in html


# --- sending a message without JavaScript ----------------------------------------------------------

def test_a_blank_message_is_refused_beside_the_field(client, agent, owner, thread):
    client.force_login(owner)
    response = client.post(chat_url(agent, thread), {"message": "   "})
    assert response.status_code == 400
    assert "This field may not be blank." in field_errors(response, "message")
    assert thread.messages.count() == 1


def test_a_stopped_agent_refuses_the_message_on_the_form(client, agent, owner, thread):
    client.force_login(owner)
    response = client.post(chat_url(agent, thread), {"message": "anyone there?"})
    assert response.status_code == 409
    html = response.content.decode()
    form = html[html.index('id="composer"'):]
    assert '<ul class="errorlist errorlist--form" role="alert"><li>Agent &#x27;helpdesk&#x27; is stopped; ' \
           'start it to chat with it.</li></ul>' in form
    assert thread.messages.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_posted_message_is_answered_by_the_agent(client, make_chat_agent, owner, llm):
    # given: a running agent and a thread
    agent = make_chat_agent(owner, name="Live")
    llm.enqueue(Reply(text="The printer is fine.", chunks=["The printer", " is fine."]))
    client.force_login(owner)
    client.post(chat_url(agent), {"new-title": "Printer"})
    thread = Thread.objects.get(agent=agent)
    # when
    response = client.post(chat_url(agent, thread), {"message": "Is the printer OK?"})
    # then
    assert response.status_code == 302 and response["Location"] == chat_url(agent, thread)
    wait_idle(thread.pk)
    question, answer = Message.objects.filter(thread=thread).order_by("created_at")
    assert (question.role, question.content, question.status) == ("user", "Is the printer OK?",
                                                                  MessageStatus.COMPLETED)
    assert (answer.role, answer.content, answer.status) == ("assistant", "The printer is fine.",
                                                            MessageStatus.COMPLETED)
    assert answer.execution.trigger == "chat"
    page = client.get(chat_url(agent, thread)).content.decode()
    assert '<div class="msg-body" data-role="text">The printer is fine.</div>' in page
