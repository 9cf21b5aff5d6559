"""Runtime: start, stop and redeploy an agent (API.md §7).

A running agent serves its *deployed* version: schedules, heartbeat and
invokes without ``options.version`` use it, while the working config (the
draft) can be edited freely; ``redeploy`` pins the draft as a new version.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.errors import AgentNotActive
from agents.models import Agent, AgentStatus, AuditAction, RuntimeState
from agents.services.agents import agent_lock
from agents.services.audit import audit_record
from agents.services.schedules import periodic_tasks_sync
from agents.services.versions import version_for_deploy


def _save(agent: Agent, *fields: str) -> None:
    agent.revision += 1
    agent.last_activity = timezone.now()
    agent.save(update_fields=[*fields, "revision", "last_activity"])
    periodic_tasks_sync(agent)


@transaction.atomic
def agent_start(*, agent: Agent, actor: Actor) -> Agent:
    """Deploy the working definition (reusing the latest version when it is
    unchanged) and mark the agent running.  Starting a running agent
    redeploys it."""
    agent = agent_lock(agent)
    if agent.status != AgentStatus.ACTIVE:
        raise AgentNotActive(f"Agent {agent.slug!r} is {agent.status}; activate it before starting it.")
    previous = {"state": agent.runtime_state, "deployed_version": agent.deployed_version}
    agent.deployed_version = version_for_deploy(agent, actor=actor, changelog="Deployed on start").index
    if agent.runtime_state != RuntimeState.RUNNING:
        agent.runtime_state = RuntimeState.RUNNING
        agent.runtime_started_at = timezone.now()
    _save(agent, "deployed_version", "runtime_state", "runtime_started_at")
    audit_record(agent=agent, actor=actor, action=AuditAction.RUNTIME_STARTED, changes=_changes(previous, agent))
    return agent


@transaction.atomic
def agent_stop(*, agent: Agent, actor: Actor) -> Agent:
    """Mark the agent stopped: its schedules and heartbeat pause.  The
    deployed version stays pinned for the next start."""
    agent = agent_lock(agent)
    if agent.runtime_state == RuntimeState.STOPPED:
        return agent
    previous = {"state": agent.runtime_state, "deployed_version": agent.deployed_version}
    agent.runtime_state = RuntimeState.STOPPED
    agent.runtime_started_at = None
    _save(agent, "runtime_state", "runtime_started_at")
    audit_record(agent=agent, actor=actor, action=AuditAction.RUNTIME_STOPPED, changes=_changes(previous, agent))
    return agent


@transaction.atomic
def agent_redeploy(*, agent: Agent, actor: Actor) -> tuple[Agent, bool]:
    """Pin the working definition on a running agent; returns the agent and
    whether it was redeployed (a stopped agent is left alone, as seed 004
    says: the next start deploys the draft anyway)."""
    agent = agent_lock(agent)
    if agent.runtime_state != RuntimeState.RUNNING:
        return agent, False
    previous = {"state": agent.runtime_state, "deployed_version": agent.deployed_version}
    agent.deployed_version = version_for_deploy(agent, actor=actor, changelog="Deployed on redeploy").index
    agent.runtime_started_at = timezone.now()
    _save(agent, "deployed_version", "runtime_started_at")
    audit_record(agent=agent, actor=actor, action=AuditAction.RUNTIME_REDEPLOYED, changes=_changes(previous, agent))
    return agent, True


def _changes(previous: dict, agent: Agent) -> dict:
    now = {"state": agent.runtime_state, "deployed_version": agent.deployed_version}
    return {f"runtime.{key}": {"old": previous[key], "new": now[key]} for key in now}
