"""``subagent``: runs another agent the caller may run, inside this execution."""

from __future__ import annotations

from executions.engine.context import NodeFailure, RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import as_text, render_value

MAX_SUBAGENT_DEPTH = 3


class SubagentNode(Node):
    type = "subagent"
    required_data = {"agent": str}
    template_keys = ("input",)
    tool = True
    connector_aliases = ("agent", "sub-agent")

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        data = node["data"]
        if ctx.depth >= MAX_SUBAGENT_DEPTH:
            raise NodeFailure(f"Subagents nest at most {MAX_SUBAGENT_DEPTH} deep.")
        try:
            child = await ctx.catalogue.subagent(data["agent"], ctx.user_id)
        except LookupError as exc:
            raise NodeFailure(str(exc)) from None
        mapping = data.get("input")
        child_input = render_value(mapping, ctx.template_context()) if mapping is not None else ctx.input
        if not isinstance(child_input, dict):
            child_input = {"message": as_text(child_input)}
        child_ctx = RunContext(
            execution_id=ctx.execution_id, agent=child, input=child_input, env=await ctx.catalogue.env(child),
            recorder=ctx.recorder, catalogue=ctx.catalogue, user_id=ctx.user_id,
            stream_deltas=ctx.stream_deltas, depth=ctx.depth + 1,
            node_prefix=f"{ctx.node_prefix}{node['id']}/", llm_clients=ctx.llm_clients)
        return StepOutcome(output=await ctx.runner(child_ctx, child.pipeline))
