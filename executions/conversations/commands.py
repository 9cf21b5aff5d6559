"""Slash commands: answered by the server, never by the model (seed 004).

A message that starts with ``/`` and a word is a command.  Its answer is
streamed like any other (a delta, then ``thread.run.completed`` with the
command's name), so every client shows it; nothing calls the model.  Commands
that change the agent go through the same services, roles and scopes as the
API: ``/task create`` needs the admin role and ``agents:write`` like
``POST /schedules``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from inspect import iscoroutinefunction

from asgiref.sync import sync_to_async

from accounts.actor import Actor
from accounts.models import Scope
from accounts.roles import Role
from agents.memory_reads import memories_for
from agents.models import Agent, Memory
from agents.selectors import agent_role, agent_skills, schedule_list_for_agent
from agents.services.memories import memory_create
from agents.services.schedules import schedule_create
from agents.services.skills import skill_attach, skill_create
from core.errors import ApiError, ValidationFailed
from executions.conversations.models import Message, Thread
from executions.conversations.personalities import PERSONALITIES
from executions.knowledge.selectors import knowledge_search

COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_-]{0,31})(?:\s+|$)")
LIST_LIMIT = 20
KNOWLEDGE_HITS = 5
PASSAGE_CHARS = 300


def command_name(text: str) -> str:
    """The command ``text`` is (lower-cased, without the slash), or ``""``."""
    match = COMMAND.match(text.strip())
    return match.group(1).lower() if match else ""


@dataclass(frozen=True)
class Invocation:
    thread: Thread
    agent: Agent
    actor: Actor
    args: str

    def role(self) -> Role | None:
        role = agent_role(self.agent, self.actor.user)
        return Role(role) if role else None

    def may(self, role: Role, scope: Scope) -> bool:
        mine = self.role()
        return mine is not None and mine.at_least(role) and scope in self.actor.scopes


def _help(call: Invocation) -> str:
    lines = ["Commands (answered by the server, not the model):"]
    lines += [f"  {usage} — {summary}" for usage, summary, _handler in _COMMANDS.values()]
    return "\n".join(lines)


def _personality(call: Invocation) -> str:
    parts = call.args.split()
    if not parts:
        current = call.thread.personality or "the agent's own"
        presets = "\n".join(f"  {name} — {text}" for name, text in PERSONALITIES.items())
        return f"Personality for this thread: {current}.\nPresets (/personality set <preset>):\n{presets}"
    if parts[0] != "set" or len(parts) != 2:
        return "Usage: /personality set <preset>. /personality lists the presets."
    preset = parts[1].lower()
    if preset not in PERSONALITIES and preset != "default":
        return f"Unknown preset {parts[1]!r}. Presets: {', '.join(PERSONALITIES)} (or default)."
    call.thread.personality = "" if preset == "default" else preset
    Thread.objects.filter(pk=call.thread.pk).update(personality=call.thread.personality)
    return (f"Personality set to {preset} for this thread." if preset != "default"
            else "Personality reset to the agent's own.")


def _remember(call: Invocation) -> str:
    if not call.args.strip():
        return "Usage: /remember <text>"
    memory = memory_create(call.agent, actor=call.actor, content=call.args.strip())
    return f"Remembered: {memory.content}"


def _memories(call: Invocation) -> str:
    memories = list(memories_for(call.agent)[:LIST_LIMIT])
    if not memories:
        return "No memories yet. /remember <text> stores one."
    return "Memories (newest first):\n" + "\n".join(f"  - {_memory_line(m)}" for m in memories)


def _memory_line(memory: Memory) -> str:
    return f"[rule] {memory.content}" if memory.kind == "rule" else memory.content


def _skills(call: Invocation) -> str:
    links = list(agent_skills(call.agent)[:LIST_LIMIT])
    if not links:
        return "No skills attached. /skill create <name> adds one."
    return "Skills:\n" + "\n".join(
        f"  - {link.skill.name}" + (f": {link.skill.description}" if link.skill.description else "")
        for link in links)


def _skill(call: Invocation) -> str:
    action, _, name = call.args.strip().partition(" ")
    if action != "create" or not name.strip():
        return "Usage: /skill create <name>"
    skill = skill_create(actor=call.actor, name=name.strip(), source="chat")
    if call.may(Role.ADMIN, Scope.AGENTS_WRITE):
        skill_attach(call.agent, skill, actor=call.actor, auto_connected=True)
        return (f"Created skill {skill.name!r} and attached it to this agent. "
                f"Give it content with PATCH /api/v1/skills/{skill.pk}.")
    return (f"Created skill {skill.name!r} in your library. Attaching it to this agent needs the admin role; "
            "ask an admin of the agent.")


def _tasks(call: Invocation) -> str:
    schedules = list(schedule_list_for_agent(agent=call.agent)[:LIST_LIMIT])
    if not schedules:
        return "No scheduled tasks. /task create <cron> <prompt> adds one, e.g. /task create 0 9 * * 1 Weekly report"
    return "Scheduled tasks:\n" + "\n".join(
        f"  - {s.name}: {s.cron} ({s.timezone}){'' if s.enabled else ' [paused]'} — "
        f"{(s.input or {}).get('message', '')}" for s in schedules)


def _task(call: Invocation) -> str:
    parts = call.args.split()
    if not parts or parts[0] != "create" or len(parts) < 7:
        return ("Usage: /task create <minute> <hour> <day> <month> <weekday> <prompt>, "
                "e.g. /task create 0 9 * * * Daily digest")
    if not call.may(Role.ADMIN, Scope.AGENTS_WRITE):
        return "Creating a task needs the admin role on this agent and the agents:write scope."
    cron, prompt = " ".join(parts[1:6]), " ".join(parts[6:])
    schedule = schedule_create(agent=call.agent, actor=call.actor, data={"cron": cron, "input": {"message": prompt}})
    return f"Scheduled {schedule.name!r}: {schedule.cron} ({schedule.timezone}) — {prompt}"


async def _knowledge(call: Invocation) -> str:
    """Async: the query's embedding is awaited off the database thread."""
    action, _, query = call.args.strip().partition(" ")
    if action != "search" or not query.strip():
        return "Usage: /knowledge search <query>"
    found = await knowledge_search(call.agent, query.strip(), top_k=KNOWLEDGE_HITS)
    if not found["results"]:
        return f"Nothing in the knowledge base matches {query.strip()!r}. ({found['note']})"
    lines = [f"Top passages for {query.strip()!r} ({found['note']}):"]
    for n, hit in enumerate(found["results"], 1):
        where = f"{hit['filename']}" + (f", page {hit['page']}" if hit.get("page") else "")
        text = " ".join(hit["text"].split())
        lines.append(f"  {n}. [{where}] {text[:PASSAGE_CHARS]}{'…' if len(text) > PASSAGE_CHARS else ''}")
    return "\n".join(lines)


# A handler is sync (it runs on the database thread) or async (it awaits its own reads).
_COMMANDS: dict[str, tuple[str, str, Callable[[Invocation], str | Awaitable[str]]]] = {
    "help": ("/help", "this list", _help),
    "personality": ("/personality [set <preset>]", "show or change this thread's communication style", _personality),
    "remember": ("/remember <text>", "store a memory the agent keeps", _remember),
    "memories": ("/memories", "list stored memories", _memories),
    "skills": ("/skills", "list the agent's skills", _skills),
    "skill": ("/skill create <name>", "create a skill", _skill),
    "tasks": ("/tasks", "list scheduled tasks", _tasks),
    "task": ("/task create <cron> <prompt>", "schedule a recurring task (five cron fields, then the prompt)", _task),
    "knowledge": ("/knowledge search <query>", "search the agent's knowledge base", _knowledge),
}


async def answer(thread: Thread, message: Message) -> str:
    """The answer to the command ``message`` holds."""
    name = message.command
    entry = _COMMANDS.get(name)
    if entry is None:
        return f"Unknown command /{name}.\n\n{_help(None)}"
    call = await sync_to_async(_invocation)(thread, message, name)
    handler = entry[2]
    try:
        if iscoroutinefunction(handler):
            return await handler(call)
        return await sync_to_async(handler)(call)
    except ValidationFailed as exc:
        problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in (exc.errors or {}).items())
        return f"Could not do that: {problems or exc.detail}"
    except ApiError as exc:
        return f"Could not do that: {exc.detail}"


def _invocation(thread: Thread, message: Message, name: str) -> Invocation:
    args = message.content.strip()[len(name) + 1:].strip()
    return Invocation(thread=thread, agent=thread.agent, actor=Actor(user=thread.created_by, token=message.token),
                      args=args)
