"""Creating, changing and deleting threads (API.md §6)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.models import Agent
from core.errors import ValidationFailed
from core.validation import validated
from executions.conversations.inputs import ThreadCreateSerializer, ThreadUpdateSerializer
from executions.conversations.models import DEFAULT_TITLE, Thread
from executions.conversations.selectors import session_policy
from executions.conversations.services.turns import session_slot, turn_cancel


def thread_create(*, agent: Agent, actor: Actor, data: dict) -> Thread:
    """A new thread (and session) for the actor; 429 past the session limit."""
    clean = validated(ThreadCreateSerializer(data=data))
    session_slot(agent=agent, user=actor.user, policy=session_policy(agent))
    title = clean.get("title", "").strip()
    return Thread.objects.create(agent=agent, created_by=actor.user, title=title or DEFAULT_TITLE,
                                 title_set=bool(title), multitask_strategy=clean.get("multitask_strategy", ""))


def thread_update(*, thread: Thread, actor: Actor, data: dict) -> Thread:
    clean = validated(ThreadUpdateSerializer(data=data))
    now = timezone.now()
    if "model_override" in clean and clean["model_override"] is not None:
        if not session_policy(thread.agent)["allow_per_session_model_override"]:
            raise ValidationFailed(
                "This agent's session policy does not allow a per-session model.",
                errors={"model_override": ["Not allowed by the agent's session policy "
                                           "(allow_per_session_model_override)."]})
        clean["model_override"] = dict(clean["model_override"])
    if "title" in clean:
        title = clean["title"].strip()
        thread.title, thread.title_set = title or DEFAULT_TITLE, bool(title)
    if "archived" in clean and clean["archived"] != thread.archived:
        thread.archived = clean["archived"]
        thread.archived_at = now if thread.archived else None
        if not thread.archived:  # back from the archive: a fresh session
            session_slot(agent=thread.agent, user=thread.created_by, policy=session_policy(thread.agent),
                         exclude=thread)
            thread.session_started_at = thread.last_activity_at = now
    for key in ("multitask_strategy", "summary", "model_override"):
        if key in clean:
            setattr(thread, key, clean[key])
    thread.updated_at = now
    thread.save()
    if thread.archived:
        turn_cancel(thread=thread)
    return thread


@transaction.atomic
def thread_delete(*, thread: Thread, actor: Actor) -> None:
    """Delete the thread with its messages and events; a turn running on it is cancelled."""
    turn_cancel(thread=thread)
    with transaction.atomic():
        # The row is locked before its events are deleted.  A turn's journal
        # stores events and moves the thread's last_event_seq in one
        # transaction (Journal.flush): one under way is waited for, and its
        # events go with the thread; one that comes after finds the thread
        # gone.  Unlocked, a journal committing between the events' DELETE and
        # the thread's left events behind, and this failed at commit.
        list(Thread.objects.select_for_update().filter(pk=thread.pk).values_list("pk", flat=True))
        thread.delete()


def threads_archive_idle(now=None) -> int:
    """Archive threads idle longer than their agent's ``auto_archive_after_days``
    (the beat task ``conversations.archive_idle``); returns how many."""
    now = now or timezone.now()
    archived = 0
    agent_ids = Thread.objects.filter(archived=False).values_list("agent_id", flat=True).distinct()
    for agent in Agent.objects.filter(pk__in=agent_ids).iterator(chunk_size=200):
        days = session_policy(agent)["auto_archive_after_days"]
        archived += Thread.objects.filter(agent=agent, archived=False,
                                          last_activity_at__lt=now - timezone.timedelta(days=days)).exclude(
            driver__gt="").update(archived=True, archived_at=now, updated_at=now)
    return archived
