"""What the engine reads from the database, behind its ``Catalogue``
protocol: providers, the agents a subagent node may run, an agent's env,
its knowledge base."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from executions.engine.context import AgentDefinition
from executions.knowledge.selectors import knowledge_search_for_definition
from executions.llm.base import ProviderSettings
from executions.selectors import resolve_provider, runnable_agent_definition, template_env


class DatabaseCatalogue:
    """The engine's ``Catalogue``: reads through the selectors, off the event loop."""

    async def provider(self, ref: str) -> ProviderSettings:
        return await sync_to_async(resolve_provider)(ref)

    async def subagent(self, ref: str, user_id) -> AgentDefinition:
        return await sync_to_async(runnable_agent_definition)(ref, user_id)

    async def env(self, definition: AgentDefinition) -> dict[str, str]:
        return await sync_to_async(template_env)(definition.config)

    async def knowledge_search(self, definition: AgentDefinition, query: str, *, top_k: int | None,
                               tags: list[str] | None) -> dict:
        return await sync_to_async(knowledge_search_for_definition)(definition.id, definition.config, query,
                                                                    top_k=top_k, tags=tags)
