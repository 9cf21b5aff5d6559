"""What the engine reads from the database, behind its ``Catalogue``
protocol: providers, the agents a subagent node may run, an agent's env,
its knowledge base."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from executions.engine.context import AgentDefinition
from executions.engine.nodes import NODES
from executions.engine.nodes.llm import model_choice
from executions.engine.runner import effective_pipeline
from executions.knowledge.selectors import knowledge_search_for_definition
from executions.llm.base import ProviderSettings
from executions.selectors import resolve_provider, runnable_agent_definition, template_env


class DatabaseCatalogue:
    """The engine's ``Catalogue``: reads through the selectors, off the event
    loop.  ``providers`` were resolved already (at the run's start, by
    ``provider_refs``), so their nodes need no trip to the database."""

    def __init__(self, providers: dict[str, ProviderSettings] | None = None):
        self.providers = providers or {}

    async def provider(self, ref: str) -> ProviderSettings:
        found = self.providers.get(ref)
        return found if found is not None else await sync_to_async(resolve_provider)(ref)

    async def subagent(self, ref: str, user_id) -> AgentDefinition:
        return await sync_to_async(runnable_agent_definition)(ref, user_id)

    async def env(self, definition: AgentDefinition) -> dict[str, str]:
        return await sync_to_async(template_env)(definition.config)

    async def knowledge_search(self, definition: AgentDefinition, query: str, *, top_k: int | None,
                               tags: list[str] | None) -> dict:
        return await knowledge_search_for_definition(definition.id, definition.config, query, top_k=top_k,
                                                     tags=tags)


def provider_refs(definition: AgentDefinition) -> list[str]:
    """The providers the model nodes of ``definition``'s own pipeline name
    (models and fallbacks), in order, once each; the ones a subagent names
    are its own."""
    refs: list[str] = []
    for node in effective_pipeline(definition.pipeline).get("nodes", []):
        handler = NODES.get(node.get("type"))
        if handler is None or not handler.calls_model:
            continue
        try:
            primary, fallbacks = model_choice(node.get("data") or {}, definition.config)
        except (KeyError, TypeError, AttributeError):  # no usable model: the node says so when it runs
            continue
        refs += [choice["provider"] for choice in [primary, *fallbacks] if isinstance(choice["provider"], str)]
    return list(dict.fromkeys(refs))


def providers_resolve(refs: list[str]) -> dict[str, ProviderSettings]:
    """The settings of the providers ``refs`` name that resolve (sync); an
    unknown one, or one whose key no longer decrypts, is left for its node
    to report when it runs."""
    found = {}
    for ref in refs:
        try:
            found[ref] = resolve_provider(ref)
        except (LookupError, ValueError):
            continue
    return found
