"""``agent``: function calling.  Ask the model, run the tools it calls, feed
the results back, until it answers without tool calls or ``max_iterations``
is spent.  A tool is a node of a tool type (``nodes.TOOLS``) run on the
call's arguments."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from executions.engine.context import NodeFailure, ProviderFailure, RunContext, StepOutcome
from executions.engine.nodes.llm import (
    ModelNode,
    agent_instructions,
    candidates,
    complete,
    completion_request,
    input_message,
    model_params,
)
from executions.engine.templating import as_text, render
from executions.llm.base import Message, ToolCall, ToolSpec


class AgentNode(ModelNode):
    type = "agent"
    template_keys = ("instructions", "prompt")

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        data, config = node["data"], ctx.agent.config
        node_id = ctx.node_prefix + node["id"]
        context = ctx.template_context()
        instructions = data.get("instructions")
        if instructions is None:
            instructions = agent_instructions(config)
        prompt = data.get("prompt")
        system = "\n\n".join(part for part in (render(instructions, context) if instructions else "",
                                                ctx.system_context) if part)
        messages = [Message("system", system)] if system else []
        messages.extend(ctx.history)
        messages.append(Message("user", render(prompt, context) if isinstance(prompt, str) else input_message(ctx)))
        tools = data.get("tools") if isinstance(data.get("tools"), list) else config.get("tools", [])
        tools_by_name = {tool["id"]: tool for tool in tools}
        max_iterations = data.get("max_iterations") or config.get("max_iterations", 10)
        models = await candidates(data, ctx)
        params = model_params(data, config)
        total = StepOutcome(output=None)

        for _ in range(int(max_iterations)):
            iteration_id = str(uuid.uuid4())
            request = completion_request(messages, params, tools=tool_specs(tools, ctx.tools))
            try:
                outcome, completion = await complete(ctx, node_id, models, request)
            except ProviderFailure as failure:
                total.add_usage(failure.outcome)
                failure.outcome = total
                raise
            total.add_usage(outcome)
            total.provider, total.model = outcome.provider, outcome.model
            await ctx.recorder.event("step", {
                "id": iteration_id, "role": "assistant", "content": completion.text, "node_id": node_id,
                "agent_iteration_id": iteration_id,
                "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                               for c in completion.tool_calls]})
            if not completion.tool_calls:
                total.output = completion.text
                return total
            messages.append(Message("assistant", completion.text, tool_calls=completion.tool_calls))
            for call in completion.tool_calls:
                result = await run_tool(ctx, node_id, tools_by_name.get(call.name), call)
                messages.append(Message("tool", result, tool_call_id=call.id))
                await ctx.recorder.event("step", {
                    "id": str(uuid.uuid4()), "role": "tool", "content": result, "node_id": node_id,
                    "agent_iteration_id": iteration_id, "tool_call_id": call.id, "name": call.name})
        raise NodeFailure(f"No final answer after max_iterations={max_iterations}.", outcome=total)


def tool_specs(tools: list[dict], kinds: Mapping[str, Any] | None = None) -> list[ToolSpec]:
    """The functions the model may call: one per tool in ``config.tools``.  A
    tool without ``config.parameters`` (or a description) gets its type's
    (``kinds``: node classes by type), else a single ``input`` string."""
    specs = []
    for tool in tools:
        kind = (kinds or {}).get(tool["type"])
        parameters = tool.get("config", {}).get("parameters") or getattr(kind, "parameters", None) or {
            "type": "object", "properties": {"input": {"type": "string", "description": "What to pass on."}}}
        description = tool.get("description") or getattr(kind, "tool_description", "")
        specs.append(ToolSpec(name=tool["id"], description=description, parameters=parameters))
    return specs


async def run_tool(ctx: RunContext, node_id: str, tool: dict | None, call: ToolCall) -> str:
    """Run one tool the model called; errors go back to the model as text."""
    if tool is None:
        return f"error: no tool named {call.name!r}"
    tool_config = tool.get("config", {})
    args = call.arguments if isinstance(call.arguments, dict) else {}
    pseudo = {"id": f"{node_id}:{tool['id']}", "type": tool["type"], "data": {**tool_config, "args": args}}
    if tool["type"] == "subagent":
        pseudo["data"].setdefault("input", args)
        tool_ctx = ctx
    else:  # the call's arguments read as input, beside the run's own
        tool_ctx = dataclasses.replace(ctx, input={**ctx.input, **args})
    try:
        outcome = await ctx.tools[tool["type"]].run(pseudo, tool_ctx)
    except ProviderFailure as failure:
        return f"error: {failure.message}"
    except NodeFailure as failure:
        return f"error: {failure.message}"
    return as_text(outcome.output)
