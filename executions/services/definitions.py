"""Which definition of an agent a run uses, and the values its templates see."""

from __future__ import annotations

from agents.models import Agent
from core import crypto
from core.errors import Conflict, NotFound, ValidationFailed
from executions.engine.context import AgentDefinition

DRAFT = "draft"
DEPLOYED = "deployed"


def parse_version(value) -> str | int:
    """``options.version``: ``draft`` (the default), ``deployed`` or a version index."""
    if value in (None, "", DRAFT):
        return DRAFT
    if value == DEPLOYED:
        return DEPLOYED
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) >= 1:
        return int(value)
    raise ValidationFailed('options.version must be "draft", "deployed" or a version index (1, 2, …).',
                           errors={"options.version": ['Must be "draft", "deployed" or a version index.']})


def definition_for(agent: Agent, version: str | int = DRAFT) -> AgentDefinition:
    """The agent's draft.  Saved versions arrive with the agent lifecycle;
    until then ``deployed`` and a version index name nothing that exists."""
    if version == DEPLOYED and agent.deployed_version is None:
        raise Conflict("This agent has no deployed version; run the draft or deploy a version first.")
    if version != DRAFT:
        index = agent.deployed_version if version == DEPLOYED else version
        raise NotFound(f"This agent has no version {index}.")
    return AgentDefinition(id=agent.id, slug=agent.slug, owner_id=agent.owner_id,
                           config=agent.config, pipeline=agent.pipeline, version=None)


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
