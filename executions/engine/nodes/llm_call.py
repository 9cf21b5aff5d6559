"""``llm_call``: one model call from a system and a user prompt template."""

from __future__ import annotations

from core.nesting import json_loads
from executions.engine.context import RunContext, StepOutcome
from executions.engine.nodes.llm import (
    ModelNode,
    agent_instructions,
    candidates,
    complete,
    completion_request,
    input_message,
    model_params,
)
from executions.engine.templating import render
from executions.llm.base import Message


class LlmCallNode(ModelNode):
    type = "llm_call"
    template_keys = ("system_prompt_template", "user_prompt_template")
    tool = True
    connector_aliases = ("llm",)

    @classmethod
    def describe_input(cls, node: dict, ctx: RunContext):
        return {"messages": [{"role": m.role, "content": m.content} for m in cls.messages(node, ctx)]}

    @classmethod
    def messages(cls, node: dict, ctx: RunContext) -> list[Message]:
        data, context = node["data"], ctx.template_context()
        system = data.get("system_prompt_template")
        if system is None:
            system = agent_instructions(ctx.agent.config)
        user_template = data.get("user_prompt_template")
        user = render(user_template, context) if user_template is not None else input_message(ctx)
        messages = [Message("system", render(system, context))] if system else []
        return [*messages, Message("user", user)]

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        data = node["data"]
        models = await candidates(data, ctx)
        response_format = data.get("response_format") if isinstance(data.get("response_format"), dict) else None
        request = completion_request(cls.messages(node, ctx), model_params(data, ctx.agent.config),
                                     response_format=response_format)
        outcome, completion = await complete(ctx, ctx.node_prefix + node["id"], models, request)
        if response_format and response_format.get("type") in ("json_object", "json_schema"):
            try:
                outcome.output = json_loads(completion.text)
            except ValueError:
                pass  # the model ignored the format; keep its text
        return outcome
