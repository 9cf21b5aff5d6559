"""The node catalogue: what each node class declares is what validation checks,
and the orders the API lists node types, tools and connector aliases in."""

import pytest

from executions.engine.graph import validate_pipeline
from executions.engine.nodes import CONNECTOR_ALIASES, NODE_TYPES, NODES, TOOL_TYPES
from executions.engine.nodes.base import Node


def errors_for(node_type, data):
    """Errors under the node's ``data`` when it sits between an input and an output."""
    pipeline = {"nodes": [{"id": "in", "type": "input", "data": {}}, {"id": "n", "type": node_type, "data": data},
                          {"id": "out", "type": "output", "data": {}}],
                "edges": [{"source": "in", "target": "n"}, {"source": "n", "target": "out"}]}
    prefix = "pipeline.nodes[1].data."
    return {path.removeprefix(prefix): messages for path, messages in validate_pipeline(pipeline)[1].items()
            if path.startswith(prefix)}


def test_node_types_tools_and_aliases_keep_the_order_the_api_lists_them_in():
    assert NODE_TYPES == ("input", "output", "llm_call", "agent", "condition", "template", "http_request",
                          "knowledge_search", "subagent", "remember", "save_artifact")
    assert TOOL_TYPES == ("http_request", "knowledge_search", "subagent", "template", "llm_call", "remember",
                          "save_artifact")
    assert list(CONNECTOR_ALIASES) == ["web-search", "http", "api", "webhook", "knowledge", "knowledge-base", "rag",
                                       "agent", "sub-agent", "llm"]


@pytest.mark.parametrize("node_type", [t for t in NODE_TYPES if NODES[t].required_data])
def test_each_declared_required_key_is_required(node_type):
    errors = errors_for(node_type, {})

    for key in NODES[node_type].required_data:
        assert errors[key] == [f"Required for a {node_type} node."]


@pytest.mark.parametrize("node_type", [t for t in NODE_TYPES if NODES[t].template_keys])
def test_each_declared_template_key_is_checked_on_save(node_type):
    node_class = NODES[node_type]
    data = {key: "x" for key in node_class.required_data} | {key: "{{ unclosed" for key in node_class.template_keys}

    errors = errors_for(node_type, data)

    for key in node_class.template_keys:
        assert errors[key][0].startswith("Template error:"), errors


def test_a_node_class_without_a_type_or_run_is_refused_when_it_is_written():
    with pytest.raises(TypeError, match="must declare its type"):
        type("Nameless", (Node,), {"run": classmethod(lambda cls, node, ctx: None)})
    with pytest.raises(TypeError, match="define run"):
        type("Idle", (Node,), {"type": "idle"})
    assert type("Shared", (Node,), {}, abstract=True)  # a base for node types, not one itself
