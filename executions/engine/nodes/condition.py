"""``condition``: evaluates an expression; the edges leaving it follow the verdict."""

from __future__ import annotations

from executions.engine.context import RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import check_expression, evaluate


class ConditionNode(Node):
    type = "condition"
    required_data = {"expression": str}

    @classmethod
    def data_problems(cls, data: dict):
        if isinstance(data.get("expression"), str):
            problem = check_expression(data["expression"])
            if problem:
                yield "expression", problem

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        verdict = bool(evaluate(node["data"]["expression"], ctx.template_context()))
        return StepOutcome(output=verdict, branch=verdict)
