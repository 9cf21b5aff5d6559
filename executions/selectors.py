"""Reads for the executions app.

Providers: the resolver the engine uses to turn an agent's ``provider``
reference into what an LLM client needs (the catalogue itself is
``agents.providers``).  Executions: every lookup goes through the agents the
caller may see."""

from __future__ import annotations

import os
import uuid

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.roles import Role
from agents.models import Agent, AgentStatus, Provider, ProviderKind, RuntimeState
from agents.providers import BUILTIN_PROVIDERS, provider_find
from agents.selectors import DEPLOYED, DRAFT, agent_get_for_user, agents_visible_to, of_visible_agents, version_content
from core import crypto
from core.errors import Conflict, NotFound, ValidationFailed
from core.pagination import rows_in_order
from executions.engine.context import AgentDefinition
from executions.llm.base import ProviderSettings
from executions.models import Execution, ExecutionEvent, ExecutionStep

# Built-in providers read their endpoint and key from the environment at call
# time, so an operator's change needs no migration: (base URL, API key).
_BUILTIN_ENV = {
    ProviderKind.ECHO.value: (None, None),
    ProviderKind.OPENAI.value: ("OPENAI_BASE_URL", "OPENAI_API_KEY"),
    ProviderKind.ANTHROPIC.value: ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
}


class UnknownProvider(LookupError):
    """No provider row and no built-in provider has this id or name."""


def provider_settings(provider: Provider) -> ProviderSettings:
    """What a client needs to reach ``provider``, its API key decrypted.
    Raises ``ValueError`` when the key cannot be decrypted (the encryption
    key changed since it was stored)."""
    api_key = crypto.decrypt(provider.api_key_ciphertext) if provider.api_key_ciphertext else ""
    prices = {m["name"]: (float(m.get("input_per_million", 0)), float(m.get("output_per_million", 0)))
              for m in provider.models or []}
    return ProviderSettings(name=provider.name, kind=provider.kind, base_url=provider.base_url,
                            api_key=api_key, prices=prices)


def _builtin_settings(name: str) -> ProviderSettings:
    url_var, key_var = _BUILTIN_ENV[name]
    return ProviderSettings(name=name, kind=name,
                            base_url=os.environ.get(url_var, "") if url_var else "",
                            api_key=os.environ.get(key_var, "") if key_var else "")


def resolve_provider(ref: str) -> ProviderSettings:
    """The settings for an agent's ``provider`` reference: a provider row by
    id or name, else a built-in (``echo``, ``openai``, ``anthropic``, keyed
    from the environment).  Raises ``UnknownProvider``."""
    provider = provider_find(ref)
    if provider is not None:
        return provider_settings(provider)
    if ref in BUILTIN_PROVIDERS:
        return _builtin_settings(ref)
    raise UnknownProvider(f"Unknown provider {ref!r}.")


# --- definitions: which definition of an agent a run uses, and the values its templates see -------

def parse_version(value) -> str | int | None:
    """``options.version``: ``draft``, ``deployed``, a version index, or
    ``None`` for the default (deployed while running, else draft)."""
    if value in (None, ""):
        return None
    if value in (DRAFT, DEPLOYED):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) >= 1:
        return int(value)
    raise ValidationFailed('options.version must be "draft", "deployed" or a version index (1, 2, …).',
                           errors={"options.version": ['Must be "draft", "deployed" or a version index.']})


def definition_for(agent: Agent, version: str | int | None = None) -> AgentDefinition:
    """The definition a run uses: the working config (``draft``), the
    deployed version, or version ``index``.  With no choice, a running agent
    serves its deployed version and a stopped one its draft (API.md §7)."""
    if version is None:
        running = agent.runtime_state == RuntimeState.RUNNING and agent.deployed_version is not None
        version = DEPLOYED if running else DRAFT
    if version == DRAFT:
        return AgentDefinition(id=agent.id, slug=agent.slug, owner_id=agent.owner_id,
                               config=agent.config, pipeline=agent.pipeline, version=None)
    if version == DEPLOYED:
        if agent.deployed_version is None:
            raise Conflict("This agent has no deployed version; start it, or run the draft.")
        version = agent.deployed_version
    snapshot = version_content(agent.pk, version)
    if snapshot is None:
        raise NotFound(f"This agent has no version {version}.")
    config, pipeline = snapshot
    return AgentDefinition(id=agent.id, slug=agent.slug, owner_id=agent.owner_id,
                           config=config, pipeline=pipeline, version=version)


def template_env(config: dict) -> dict[str, str]:
    """``env`` as templates see it: plain values, secrets decrypted."""
    env = {}
    for key, entry in (config.get("env") or {}).items():
        if entry.get("secret"):
            try:
                env[key] = crypto.decrypt(entry["ciphertext"])
            except ValueError:
                env[key] = ""
        else:
            env[key] = entry.get("value", "")
    return env


# --- executions ---------------------------------------------------------------

def execution_list_for_agent(*, agent) -> QuerySet[Execution]:
    """The agent's executions, newest first."""
    return Execution.objects.filter(agent=agent).select_related("agent")


def execution_list_for_user(*, user) -> QuerySet[Execution]:
    """Executions of every agent ``user`` may see, newest first, with their agents."""
    return Execution.objects.filter(of_visible_agents(user)).select_related("agent")


def execution_recent_for_user(*, user, limit: int) -> list[Execution]:
    """The ``limit`` newest executions of every agent ``user`` may see, with
    their agents (their keys sorted, not their rows: ``rows_in_order``)."""
    return rows_in_order(execution_list_for_user(user=user), ["-created_at", "-id"], 0, limit, keys_first=True)


def execution_get_for_user(*, user, execution_id, agent=None) -> Execution:
    """The execution if ``user`` may see its agent (``role`` annotated on
    ``execution.agent``); 404 otherwise."""
    try:
        pk = uuid.UUID(str(execution_id))
    except ValueError:
        raise NotFound("Execution not found.") from None
    if agent is not None:
        execution = Execution.objects.filter(pk=pk, agent=agent).first()
        if execution is not None:
            execution.agent = agent
    else:
        execution = Execution.objects.filter(pk=pk).first()
        if execution is not None:
            visible = agents_visible_to(user).filter(pk=execution.agent_id).first()
            execution = None if visible is None else execution
            if execution is not None:
                execution.agent = visible
    if execution is None:
        raise NotFound("Execution not found.")
    return execution


def execution_trace(execution: Execution) -> list[ExecutionStep]:
    return list(execution.steps.order_by("sequence"))


def events_after(execution_id, last_id: int, *, limit: int = 500) -> tuple[list[ExecutionEvent], bool]:
    """Events with ids above ``last_id`` and whether the execution has finished.
    Both come from one read, so "finished with nothing new" is never premature."""
    events = list(ExecutionEvent.objects.filter(execution_id=execution_id, id__gt=last_id).order_by("id")[:limit])
    finished = not Execution.objects.filter(pk=execution_id, status__in=("queued", "running")).exists()
    if finished and len(events) < limit:
        # Anything committed together with the final status is visible now too.
        events += list(ExecutionEvent.objects.filter(
            execution_id=execution_id, id__gt=events[-1].id if events else last_id).order_by("id")[:limit])
    return events, finished


def runnable_agent_definition(ref: str, user_id) -> AgentDefinition:
    """Another agent a pipeline calls as a subagent: the caller must be able to
    run it (operator or more) and it must be active.  ``LookupError`` says why not."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        raise LookupError("Subagents need a user behind the run.")
    try:
        agent = agent_get_for_user(user=user, ref=ref, representation=False)
    except NotFound:
        raise LookupError(f"Subagent {ref!r} not found.") from None
    if not Role(agent.role).at_least(Role.OPERATOR):
        raise LookupError(f"You may not run subagent {ref!r} (it needs the operator role).")
    if agent.status != AgentStatus.ACTIVE:
        raise LookupError(f"Subagent {ref!r} is {agent.status}.")
    return AgentDefinition(id=agent.id, slug=agent.slug, owner_id=agent.owner_id,
                           config=agent.config, pipeline=agent.pipeline)
