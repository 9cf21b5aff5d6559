"""``input``: the run's input, checked against the pipeline's input schema."""

from __future__ import annotations

from core.field_errors import error_summary
from executions.engine.context import InputInvalid, RunContext, StepOutcome
from executions.engine.inputs import input_errors, json_schema_problem
from executions.engine.nodes.base import Node


class InputNode(Node):
    type = "input"
    stream_role = "user"

    @classmethod
    def data_problems(cls, data: dict):
        if "schema" in data:
            problem = json_schema_problem(data["schema"])
            if problem:
                yield "schema", problem

    @classmethod
    def describe_input(cls, node: dict, ctx: RunContext):
        return ctx.input

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        schema = node["data"].get("schema")
        if schema:
            errors = input_errors(schema, ctx.input)
            if errors:
                raise InputInvalid(error_summary(errors), errors=errors)
        return StepOutcome(output=ctx.input)
