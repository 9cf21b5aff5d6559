"""The node catalogue (API.md §5): one module per node type, and here the one
list of them.  Pipeline validation (``engine.graph``), config validation
(``agents.config``), the wizard's connectors and the runner all read it, so a
new node type is a new module plus one line below."""

from __future__ import annotations

from executions.engine.nodes.agent import AgentNode
from executions.engine.nodes.base import Node
from executions.engine.nodes.condition import ConditionNode
from executions.engine.nodes.http_request import HttpRequestNode
from executions.engine.nodes.input import InputNode
from executions.engine.nodes.knowledge_search import KnowledgeSearchNode
from executions.engine.nodes.llm_call import LlmCallNode
from executions.engine.nodes.output import OutputNode
from executions.engine.nodes.remember import RememberNode
from executions.engine.nodes.save_artifact import SaveArtifactNode
from executions.engine.nodes.subagent import SubagentNode
from executions.engine.nodes.template import TemplateNode

# Every node type, in the order error messages and the API's schema list them.
NODES: dict[str, type[Node]] = {node.type: node for node in (
    InputNode, OutputNode, LlmCallNode, AgentNode, ConditionNode, TemplateNode,
    HttpRequestNode, KnowledgeSearchNode, SubagentNode, RememberNode, SaveArtifactNode,
)}
NODE_TYPES = tuple(NODES)

# The order tools are listed in: the connectors to the outside first, then the
# nodes that work on text, then the built-ins that keep what a run makes.
# Which types are tools, each class says (``tool``).
_TOOL_ORDER = ("http_request", "knowledge_search", "subagent", "template", "llm_call", "remember", "save_artifact")
TOOLS: dict[str, type[Node]] = {
    node_type: NODES[node_type]
    for node_type in sorted((t for t, node in NODES.items() if node.tool), key=_TOOL_ORDER.index)
}
TOOL_TYPES = tuple(TOOLS)

# The wizard's connector names: alias → the tool type it stands for.
CONNECTOR_ALIASES = {alias: tool.type for tool in TOOLS.values() for alias in tool.connector_aliases}

__all__ = ["CONNECTOR_ALIASES", "NODES", "NODE_TYPES", "TOOLS", "TOOL_TYPES", "Node"]
