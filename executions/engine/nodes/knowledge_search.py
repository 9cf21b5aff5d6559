"""``knowledge_search``: searches the agent's knowledge base.  Agents have no
documents until the knowledge base lands, so the rendered query finds nothing yet."""

from __future__ import annotations

from executions.engine.context import RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import render


class KnowledgeSearchNode(Node):
    type = "knowledge_search"
    required_data = {"query": str}
    template_keys = ("query",)
    tool = True
    connector_aliases = ("knowledge", "knowledge-base", "rag")

    @classmethod
    def data_problems(cls, data: dict):
        if "top_k" in data:
            top_k = data["top_k"]
            if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 50:
                yield "top_k", "Must be an integer from 1 to 50."

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        data = node["data"]
        query = render(data["query"], {**ctx.template_context(), "args": data.get("args", {})})
        return StepOutcome(output={"query": query, "results": []})
