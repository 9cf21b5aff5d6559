"""Slash commands: answered by the server, streamed like any answer, no model call."""

import pytest

from accounts.actor import Actor
from agents.models import AgentSkill, Memory, Schedule, Skill
from agents.services.skills import skill_attach, skill_create
from executions.conversations.models import Message, Thread
from tests.executions.conversations.conftest import Chat, deltas
from tests.executions.knowledge.conftest import ingest, upload
from tests.fakes.llm_server import Reply


@pytest.fixture
def ask(chat, llm):
    thread = chat.thread()

    def send(text, client=None):
        events = (client or chat).send(thread["id"], text)
        assert events[-2]["event"] == "thread.run.completed", events
        assert events[-2]["data"]["command"] == text.split()[0][1:].lower()
        assert llm.requests == []  # the model was never asked
        return deltas(events)
    send.thread_id = thread["id"]
    return send


def test_help_lists_every_command(ask):
    answer = ask("/help")
    for usage in ("/help", "/personality", "/remember", "/memories", "/skills", "/skill create", "/tasks",
                  "/task create", "/knowledge search"):
        assert usage in answer


def test_unknown_commands_get_the_list(ask):
    answer = ask("/frobnicate now")
    assert answer.startswith("Unknown command /frobnicate.") and "/remember <text>" in answer


def test_personality(ask):
    listing = ask("/personality")
    assert "concise" in listing and "socratic" in listing
    assert ask("/personality set concise") == "Personality set to concise for this thread."
    assert Thread.objects.get(pk=ask.thread_id).personality == "concise"
    assert "Unknown preset" in ask("/personality set grumpy")
    assert ask("/personality set default") == "Personality reset to the agent's own."


def test_a_command_that_changes_the_thread_says_what_changed_in_its_event(chat, llm):
    # given
    thread = chat.thread(title="Planning")

    def completed(text):
        events = chat.send(thread["id"], text)
        assert events[-2]["event"] == "thread.run.completed", events
        return events[-2]["data"]

    # then: only a change is announced, with what the thread is now
    assert "thread" not in completed("/help")
    assert completed("/personality set concise")["thread"] == {"id": thread["id"], "personality": "concise"}
    assert "thread" not in completed("/personality set concise")
    assert "thread" not in completed("/personality set grumpy")
    assert completed("/personality set default")["thread"] == {"id": thread["id"], "personality": ""}
    assert Thread.objects.get(pk=thread["id"]).title == "Planning"


def test_a_first_command_names_the_thread_and_says_so(chat, llm):
    thread = chat.thread()
    data = chat.send(thread["id"], "/personality set teacher")[-2]["data"]
    assert data["thread"] == {"id": thread["id"], "personality": "teacher", "title": "/personality set teacher"}
    stored = Thread.objects.get(pk=thread["id"])
    assert (stored.title, stored.personality) == ("/personality set teacher", "teacher")


def test_remember_and_memories(ask, chat):
    assert ask("/memories").startswith("No memories yet")
    assert ask("/remember The user's cat is called Pixel.") == "Remembered: The user's cat is called Pixel."
    memory = Memory.objects.get(agent=chat.agent)
    assert memory.content == "The user's cat is called Pixel." and memory.created_by.username == "alice"
    assert "Pixel" in ask("/memories")
    assert ask("/remember") == "Usage: /remember <text>"


def test_skills_and_skill_create(ask, chat):
    assert ask("/skills").startswith("No skills attached")
    answer = ask("/skill create Weekly digest")
    assert "Created skill 'Weekly digest' and attached it" in answer
    skill = Skill.objects.get(name="Weekly digest")
    assert AgentSkill.objects.filter(agent=chat.agent, skill=skill).exists()
    assert "Weekly digest" in ask("/skills")
    assert ask("/skill make x") == "Usage: /skill create <name>"


def test_tasks_and_task_create_through_the_schedules_service(ask, chat):
    assert ask("/tasks").startswith("No scheduled tasks")
    answer = ask("/task create 0 9 * * 1 Write the weekly report")
    assert answer.startswith("Scheduled ") and "0 9 * * 1" in answer
    schedule = Schedule.objects.get(agent=chat.agent)
    assert (schedule.cron, schedule.input) == ("0 9 * * 1", {"message": "Write the weekly report"})
    assert "Write the weekly report" in ask("/tasks")
    refused = ask("/task create 99 9 * * 1 Never")
    assert refused.startswith("Could not do that: cron:")
    assert ask("/task create 0 9").startswith("Usage: /task create")
    assert Schedule.objects.count() == 1


def test_commands_that_change_the_agent_respect_role_and_scope(ask, chat, make_user, make_token, add_member, llm):
    operator = make_user("operator")
    add_member(chat.agent, operator, "operator")
    client = Chat(chat.base, make_token(operator), chat.agent)
    thread = client.thread()
    events = client.send(thread["id"], "/task create 0 9 * * * Daily")
    assert deltas(events) == "Creating a task needs the admin role on this agent and the agents:write scope."
    run_only = Chat(chat.base, make_token(chat.agent.owner, ["agents:run", "agents:read"]), chat.agent)
    events = run_only.send(run_only.thread()["id"], "/task create 0 9 * * * Daily")
    assert "agents:write" in deltas(events)
    assert not Schedule.objects.exists() and llm.requests == []


def test_command_messages_are_stored_but_kept_out_of_the_models_context(ask, chat, llm):
    ask("/help")
    rows = list(Message.objects.filter(thread_id=ask.thread_id).values_list("role", "command"))
    assert rows == [("user", "help"), ("assistant", "help")]
    chat.send(ask.thread_id, "a real question")
    assert [m["content"] for m in llm.requests[-1].body["messages"] if m["role"] != "system"] == ["a real question"]


def test_remembered_things_are_in_the_next_turns_system_prompt(ask, chat, llm):
    ask("/remember The user's cat is called Pixel.")
    chat.send(ask.thread_id, "What is my cat called?")
    system = llm.requests[-1].body["messages"][0]
    assert system["role"] == "system" and "The user's cat is called Pixel." in system["content"]


def test_the_system_prompt_carries_the_operating_prompt_personality_and_skills(asgi_server, make_chat_agent, user,
                                                                              make_token, llm, transactional_db):
    actor = Actor(user=user)
    operating = skill_create(actor=actor, name="Operating", content="Always answer in haiku.")
    agent = make_chat_agent(user, name="Poet", config={
        "instructions": "You are a poet.", "personality": "Gentle.", "operating_prompt_id": str(operating.pk)})
    skill_attach(agent, skill_create(actor=actor, name="Rhymes", content="Prefer slant rhymes."), actor=actor)
    chat = Chat(asgi_server.url, make_token(user), agent)
    thread = chat.thread()
    chat.send(thread["id"], "/personality set formal")
    chat.send(thread["id"], "Write about rain")
    system = llm.requests[-1].body["messages"][0]["content"]
    for part in ("You are a poet.", "Gentle.", "Always answer in haiku.", "Prefer slant rhymes.",
                 "Use a formal, precise, professional tone."):
        assert part in system


def test_knowledge_search_answers_from_the_knowledge_base(ask, chat, api, user, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "knowledge": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "kb")}}}
    settings.AGENTRY_KNOWLEDGE_EMBEDDING = ""
    assert ask("/knowledge search opening hours").startswith("Nothing in the knowledge base matches")
    handbook = b"# Handbook\n\n## Opening hours\n\nThe office opens at nine and closes at five.\n"
    ingest(upload(api(user), chat.agent, "handbook.md", handbook, content_type="text/markdown"))
    answer = ask("/knowledge search when does the office open")
    assert "[handbook.md]" in answer and "The office opens at nine" in answer
    assert "full-text search only" in answer  # no embedding model: it says how it searched
    assert ask("/knowledge find x") == "Usage: /knowledge search <query>"


def test_a_chat_with_documents_can_search_them_and_cites_what_it_used(ask, chat, api, user, llm, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "knowledge": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "kb")}}}
    settings.AGENTRY_KNOWLEDGE_EMBEDDING = ""
    handbook = b"# Handbook\n\n## Opening hours\n\nThe office opens at nine and closes at five.\n"
    ingest(upload(api(user), chat.agent, "handbook.md", handbook, content_type="text/markdown"))
    llm.enqueue(Reply(tool_calls=[("knowledge_search", {"query": "office opening hours"}, "k1")]),
                Reply(text="It opens at nine."))
    events = chat.send(ask.thread_id, "When does the office open?")
    result = next(e for e in events if e.get("event") == "thread.run.tool_result")["data"]
    assert result["name"] == "knowledge_search" and "opens at nine" in result["result"]
    completed = events[-2]["data"]
    assert completed["citations"] and completed["citations"][0]["filename"] == "handbook.md"
    answer = Message.objects.get(thread_id=ask.thread_id, role="assistant")
    assert answer.citations == completed["citations"]
