"""``save_artifact``: keeps a report, document or data file the run made as
one of the agent's artifacts, through the run's workspace.  As a pipeline
node its ``title``, ``content`` and ``summary`` are templates; as a tool
(``{"id": "save_artifact", "type": "save_artifact"}``) the model passes them."""

from __future__ import annotations

from executions.engine.context import NodeFailure, RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.nodes.remember import tool_argument, workspace_of


class SaveArtifactNode(Node):
    type = "save_artifact"
    required_data = {"title": str, "content": str}
    template_keys = ("title", "content", "summary")
    tool = True
    tool_description = "Save a document you produced (an HTML report, Markdown, JSON…) for the user to keep."
    parameters = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "A short title."},
            "content": {"type": "string", "description": "The whole document."},
            "artifact_type": {"type": "string", "description": "html_report (default), markdown, json…"},
            "summary": {"type": "string", "description": "One or two sentences about it."},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["title", "content"],
    }

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
        fields = {key: tool_argument(node, ctx, key, default) for key, default in (
            ("title", ""), ("content", ""), ("artifact_type", "html_report"), ("summary", ""))}
        tags = tool_argument(node, ctx, "tags", None)
        try:
            result = await workspace_of(ctx, cls.type).save_artifact(ctx, tags=[] if tags is None else tags,
                                                                     **fields)
        except ValueError as refused:
            raise NodeFailure(f"Could not save the artifact: {refused}") from None
        return StepOutcome(output=result)
