"""``template``: renders one template to text."""

from __future__ import annotations

from executions.engine.context import RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import render


class TemplateNode(Node):
    type = "template"
    stream_role = "assistant"
    required_data = {"template": str}
    template_keys = ("template",)
    tool = True

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        return StepOutcome(output=render(node["data"]["template"], ctx.template_context()))
