"""``knowledge_search``: searches the agent's knowledge base (hybrid: full
text, plus vectors when an embedding model is configured) through the
catalogue, and records each passage it returns as a citation of the run.

As a pipeline node, ``query`` is a template.  As an agent tool, the query
is the call's ``query`` argument (or ``input``) unless the tool's config
gives a ``query`` template; ``top_k`` defaults to ``config.knowledge.top_k``."""

from __future__ import annotations

from executions.engine.context import NodeFailure, RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import as_text, render


class KnowledgeSearchNode(Node):
    type = "knowledge_search"
    required_data = {"query": str}
    template_keys = ("query",)
    tool = True
    tool_description = ("Search this agent's knowledge base (its uploaded documents) for passages about a "
                        "question; each comes with its document, page and chunk, to cite.")
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for, in plain words."},
            "tags": {"type": "array", "items": {"type": "string"},
                     "description": "Only documents carrying one of these tags (optional)."},
        },
        "required": ["query"],
    }
    connector_aliases = ("knowledge", "knowledge-base", "rag")

    @classmethod
    def data_problems(cls, data: dict):
        if "top_k" in data:
            top_k = data["top_k"]
            if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 50:
                yield "top_k", "Must be an integer from 1 to 50."
        if "tags" in data and not (isinstance(data["tags"], list) and all(isinstance(t, str) for t in data["tags"])):
            yield "tags", "Must be a list of strings."

    @classmethod
    def describe_input(cls, node: dict, ctx: RunContext):
        return {"query": node["data"].get("query"), "top_k": node["data"].get("top_k")}

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        data = node["data"]
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        if isinstance(data.get("query"), str):
            query = render(data["query"], {**ctx.template_context(), "args": args})
        else:
            query = as_text(args.get("query", args.get("input", "")))
        if not query.strip():
            raise NodeFailure("knowledge_search needs a query.", node_id=node["id"])
        top_k = data.get("top_k") if isinstance(data.get("top_k"), int) else None
        tags = data.get("tags") or args.get("tags") or None
        found = await ctx.catalogue.knowledge_search(ctx.agent, query, top_k=top_k,
                                                     tags=tags if isinstance(tags, list) else None)
        for hit in found["results"]:
            citation = {key: hit[key] for key in ("document_id", "filename", "page", "chunk")}
            if citation not in ctx.citations:
                ctx.citations.append(citation)
        return StepOutcome(output={"query": query, **found})
