"""What a turn shows the model: the system prompt's additions and the earlier
messages, within the agent's context policy (seed 004 brain config).

* ``window``: the last ``keep_recent`` messages of the session that fit in
  ``token_budget`` with the system prompt and the new message.
* ``summarise``: the same recent messages, and everything older in the
  session replaced by a summary the agent's model writes; the summary is
  stored on the thread (``summary``, ``summary_through``), so it is readable
  and editable through the API, and only the part not yet covered is ever
  summarised again.

Tokens are estimated (about four characters a token, as most tokenizers
average for English), which is what a budget needs: a bound, not a bill.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Q
from django.utils import timezone

from agents.models import Agent, Skill
from agents.selectors import agent_skill_texts
from executions.conversations.models import Message, MessageRole, Thread
from executions.conversations.personalities import PERSONALITIES
from executions.conversations.selectors import context_messages
from executions.engine.nodes.llm import agent_instructions, completion_request
from executions.llm.base import Message as LLMMessage
from executions.llm.echo import estimate_tokens
from executions.llm.retry import AllCandidatesFailed, Candidate, complete_with_fallbacks, cost_usd
from executions.selectors import resolve_provider

SUMMARY_CANDIDATES = 200  # older messages folded into the summary at most per turn
SUMMARY_MAX_TOKENS = 512
SUMMARY_PROMPT = ("Summarise the conversation below for your own later reference: the user's goals, facts "
                  "they gave, decisions made and open questions. Be concise; write plain sentences.")


@dataclass
class TurnContext:
    history: tuple[LLMMessage, ...]
    system_context: str
    tokens_prompt: int = 0  # what writing the summary cost
    tokens_completion: int = 0
    cost_usd: Decimal = Decimal(0)
    notes: list[str] = field(default_factory=list)


def system_additions(agent: Agent, thread: Thread, config: dict, memory: str) -> str:
    """The operating prompt, the thread's personality, the attached skills,
    the memories and the summary, as one block after the instructions."""
    parts = []
    operating = _uuid_or_none(config.get("operating_prompt_id") or "")
    if operating is not None:
        # A skill of the agent's owner or attached to the agent: never another user's private text.
        skill = (Skill.objects.filter(pk=operating).filter(Q(owner_id=agent.owner_id) | Q(agent_links__agent=agent))
                 .first())
        if skill is not None and skill.content:
            parts.append(f"Operating prompt:\n{skill.content}")
    if thread.personality in PERSONALITIES:
        parts.append(f"Communication style: {PERSONALITIES[thread.personality]}")
    skills = [f"## {name}\n{content}" for name, content in agent_skill_texts(agent, limit=50) if content]
    if skills:
        parts.append("Skills you can use:\n" + "\n\n".join(skills))
    if memory:
        parts.append(f"What you remember:\n{memory}")
    if thread.summary:
        parts.append(f"Summary of the earlier conversation:\n{thread.summary}")
    return "\n\n".join(parts)


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def as_llm(message: Message) -> LLMMessage:
    return LLMMessage("user" if message.role == MessageRole.USER else "assistant", message.content)


def _fit(messages: list[Message], budget: int) -> list[Message]:
    """The newest of ``messages`` whose estimated tokens fit ``budget``, oldest first."""
    kept, used = [], 0
    for message in reversed(messages):
        cost = estimate_tokens(message.content) + 4
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    return list(reversed(kept))


async def turn_context(*, agent: Agent, thread: Thread, config: dict, user_text: str, memory: str,
                       before, reads: tuple[list[Message], str] | None = None) -> TurnContext:
    """Build the turn's context; with ``summarise``, fold what falls out of
    the recent window into the thread's summary first (one model call).
    ``reads``: what ``window_reads`` read for a ``window`` policy on the
    caller's thread, so no trip to the database thread is made here."""
    policy = config["context_policy"]
    keep = policy["keep_recent"]
    instructions = agent_instructions(config)
    if policy["kind"] == "summarise":
        candidates = await sync_to_async(context_messages)(thread, since=thread.session_started_at,
                                                            limit=keep + SUMMARY_CANDIDATES)
        candidates = [m for m in candidates if m.created_at < before]
        older, recent = candidates[:-keep] if len(candidates) > keep else [], candidates[-keep:]
        summary_usage = None
        if older:
            summary_usage = await _summarise(thread, config, older)
        system = await sync_to_async(system_additions)(agent, thread, config, memory)
        fixed = estimate_tokens(instructions) + estimate_tokens(system) + estimate_tokens(user_text)
        result = TurnContext(tuple(as_llm(m) for m in _fit(recent, policy["token_budget"] - fixed)), system)
        if summary_usage is not None:
            result.tokens_prompt, result.tokens_completion, result.cost_usd = summary_usage
        return result
    if reads is None:
        reads = await sync_to_async(window_reads)(agent, thread, config, memory)
    recent, system = reads
    recent = [m for m in recent if m.created_at < before][-keep:]
    fixed = estimate_tokens(instructions) + estimate_tokens(system) + estimate_tokens(user_text)
    return TurnContext(tuple(as_llm(m) for m in _fit(recent, policy["token_budget"] - fixed)), system)


def window_reads(agent: Agent, thread: Thread, config: dict, memory: str) -> tuple[list[Message], str] | None:
    """What a ``window`` policy's context reads (sync): the recent messages and
    the system additions, in one trip to the database thread; ``None`` for
    another policy."""
    policy = config["context_policy"]
    if policy["kind"] != "window":
        return None
    return (context_messages(thread, since=thread.session_started_at, limit=policy["keep_recent"] + 1),
            system_additions(agent, thread, config, memory))


async def _summarise(thread: Thread, config: dict, older: list[Message]) -> tuple[int, int, Decimal] | None:
    """Fold ``older`` (and the summary so far) into a new summary, stored on
    the thread.  A model failure keeps the old summary: the turn goes on with
    the recent window alone."""
    transcript = "\n".join(f"{m.role}: {m.content}" for m in older)
    if thread.summary:
        transcript = f"Summary so far:\n{thread.summary}\n\nThen:\n{transcript}"
    model = config["model"]
    try:
        provider = await sync_to_async(resolve_provider)(model["provider"])
    except (LookupError, ValueError):
        return None
    request = completion_request([LLMMessage("system", SUMMARY_PROMPT), LLMMessage("user", transcript)],
                                 {"max_tokens": SUMMARY_MAX_TOKENS, "temperature": 0})
    try:
        completion, used, _attempts = await complete_with_fallbacks(
            [Candidate(provider=provider, model=model["model"])], request)
    except AllCandidatesFailed:
        return None
    thread.summary = completion.text.strip()
    thread.summary_through = older[-1].created_at
    await Thread.objects.filter(pk=thread.pk).aupdate(summary=thread.summary, summary_through=thread.summary_through,
                                                      updated_at=timezone.now())
    usage = completion.usage
    return usage.prompt_tokens, usage.completion_tokens, cost_usd(used.provider, used.model, usage)
