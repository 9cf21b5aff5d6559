"""``remember``: stores a memory for the agent, through the run's workspace.
As a pipeline node it remembers its rendered ``content`` template; as a tool
(``{"id": "remember", "type": "remember"}``) the model passes ``content``."""

from __future__ import annotations

from executions.engine.context import NodeFailure, RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import TemplateProblem, render


def tool_argument(node: dict, ctx: RunContext, key: str, default: str = ""):
    """``key`` from the model's call (``data.args``) if it gave one, else the
    node's own ``data[key]`` template rendered (the call's arguments read as ``args``)."""
    data = node["data"]
    args = data.get("args") if isinstance(data.get("args"), dict) else {}
    if key in args:
        return args[key]
    value = data.get(key, default)
    if not isinstance(value, str):
        return value
    try:
        return render(value, {**ctx.template_context(), "args": args})
    except TemplateProblem as problem:  # as a tool, a failure the model reads rather than a crash
        raise NodeFailure(f"{key}: {problem}") from None


def workspace_of(ctx: RunContext, node_type: str):
    if ctx.workspace is None:
        raise NodeFailure(f"{node_type} needs a workspace to write to, and this run has none.")
    return ctx.workspace


class RememberNode(Node):
    type = "remember"
    required_data = {"content": str}
    template_keys = ("content",)
    tool = True
    tool_description = "Remember a fact, preference or decision for later conversations with this agent."
    parameters = {
        "type": "object",
        "properties": {"content": {"type": "string", "description": "What to remember, as one short sentence."}},
        "required": ["content"],
    }

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        content = tool_argument(node, ctx, "content")
        try:
            result = await workspace_of(ctx, cls.type).remember(ctx, content)
        except ValueError as refused:
            raise NodeFailure(f"Could not remember that: {refused}") from None
        return StepOutcome(output=result)
