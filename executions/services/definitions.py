"""Which definition of an agent a run uses, and the values its templates see."""

from __future__ import annotations

from agents.models import Agent, AgentVersion, RuntimeState
from core import crypto
from core.errors import Conflict, NotFound, ValidationFailed
from executions.engine.context import AgentDefinition

DRAFT = "draft"
DEPLOYED = "deployed"


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
    snapshot = AgentVersion.objects.filter(agent=agent, index=version).values("config", "pipeline").first()
    if snapshot is None:
        raise NotFound(f"This agent has no version {version}.")
    return AgentDefinition(id=agent.id, slug=agent.slug, owner_id=agent.owner_id,
                           config=snapshot["config"], pipeline=snapshot["pipeline"], version=version)


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
