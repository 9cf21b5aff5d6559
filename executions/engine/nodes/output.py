"""``output``: what the run answers, mapped from the outputs before it."""

from __future__ import annotations

from executions.engine.context import RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import render_value


class OutputNode(Node):
    type = "output"
    stream_role = "assistant"
    template_keys = ("mapping",)

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        mapping = node["data"].get("mapping")
        if mapping is None:
            # No mapping: pass through what flowed in (one source) or all of it.
            sources = node.get("sources", [])
            values = {source: ctx.outputs[source]["output"] for source in sources}
            return StepOutcome(output=next(iter(values.values())) if len(values) == 1 else values)
        return StepOutcome(output=render_value(mapping, ctx.template_context()))
