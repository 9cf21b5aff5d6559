"""Pipeline graph validation (API.md §5), tested directly on the pure functions."""

import pytest

from executions.engine.graph import validate_pipeline


def node(id, type, **data):
    return {"id": id, "type": type, "data": data}


def edge(source, target, **extra):
    return {"id": f"{source}-{target}-{extra.get('condition', '')}", "source": source, "target": target, **extra}


def linear(*middle):
    nodes = [node("in", "input"), *middle, node("out", "output", mapping="{{x}}")]
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [edge(a, b) for a, b in zip(ids, ids[1:])]}


def errors_of(pipeline):
    return validate_pipeline(pipeline)[1]


def test_empty_and_missing_pipelines_are_valid():
    assert validate_pipeline(None) == ({"nodes": [], "edges": []}, {})
    assert errors_of({"nodes": [], "edges": []}) == {}


def test_linear_pipeline_is_valid_and_normalised():
    pipeline, errors = validate_pipeline(linear(node("llm", "llm_call", user_prompt_template="{{input.message}}")))
    assert errors == {}
    assert [n["id"] for n in pipeline["nodes"]] == ["in", "llm", "out"]


def test_diamond_is_valid():
    pipeline = {
        "nodes": [node("in", "input"), node("a", "template", template="a"), node("b", "template", template="b"),
                  node("out", "output")],
        "edges": [edge("in", "a"), edge("in", "b"), edge("a", "out"), edge("b", "out")],
    }
    assert errors_of(pipeline) == {}


@pytest.mark.parametrize("pipeline,path,fragment", [
    ({"nodes": [node("out", "output")], "edges": []}, "pipeline.nodes", "exactly one input"),
    ({"nodes": [node("a", "input"), node("b", "input"), node("out", "output")],
      "edges": [edge("a", "out"), edge("b", "out")]}, "pipeline.nodes", "exactly one input"),
    ({"nodes": [node("in", "input")], "edges": []}, "pipeline.nodes", "at least one output"),
    ({"nodes": [node("in", "input"), node("x", "teleport"), node("out", "output")], "edges": []},
     "pipeline.nodes[1].type", "Unknown node type"),
    ({"nodes": [node("in", "input"), node("in", "output")], "edges": []}, "pipeline.nodes[1].id", "Duplicate"),
    ({"nodes": [node("in", "input"), node("out", "output")], "edges": [edge("in", "ghost")]},
     "pipeline.edges[0].target", "No node"),
    ({"nodes": [node("in", "input"), node("out", "output"), node("lost", "template", template="t")],
      "edges": [edge("in", "out")]}, "pipeline.nodes", "Not reachable"),
    ({"nodes": [node("in", "input"), node("a", "template", template="a"), node("b", "template", template="b"),
                node("out", "output")],
      "edges": [edge("in", "a"), edge("a", "b"), edge("b", "a"), edge("b", "out")]}, "pipeline.edges", "cycle"),
    ({"nodes": [node("in", "input"), node("out", "output")], "edges": [edge("in", "in"), edge("in", "out")]},
     "pipeline.edges[0]", "itself"),
    ({"nodes": [node("in", "input"), node("out", "output")], "edges": [edge("in", "out"), edge("out", "in")]},
     "pipeline.edges", "cannot have"),
    ({"nodes": [node("in", "input"), node("c", "condition", expression="x"), node("out", "output")],
      "edges": [edge("in", "c"), edge("c", "out")]}, "pipeline.edges[1].condition", "condition"),
    ({"nodes": [node("in", "input"), node("out", "output")], "edges": [edge("in", "out", condition="true")]},
     "pipeline.edges[0].condition", "Only edges"),
    ({"nodes": [node("in", "input", schema={"type": "nonsense"}), node("out", "output")],
      "edges": [edge("in", "out")]}, "pipeline.nodes[0].data.schema", "JSON Schema"),
    ({"nodes": [node("in", "input"), node("c", "condition"), node("out", "output")],
      "edges": [edge("in", "c"), edge("c", "out", condition="true")]}, "pipeline.nodes[1].data.expression",
     "Required"),
    ({"nodes": [node("in", "input"), node("h", "http_request", url="http://x", method="BREW"),
                node("out", "output")], "edges": [edge("in", "h"), edge("h", "out")]},
     "pipeline.nodes[1].data.method", "one of"),
    ({"nodes": "nope", "edges": []}, "pipeline.nodes", "list"),
    ({"nodes": [node("in", "input"), node("out", "output")],
      "edges": [{"id": "e", "source": "in", "target": "out", "condition": {}}]},
     "pipeline.edges[0].condition", "Must be"),
    ({"nodes": [node("in", "input"), node("out", "output")],
      "edges": [{"id": "e", "source": ["in"], "target": {"x": 1}}]}, "pipeline.edges[0].source", "No node"),
    ({"nodes": [node("in", "input"), node("out", "output")],
      "edges": [{"id": {"a": 1}, "source": "in", "target": "out"}]}, "pipeline.edges[0].id", "string"),
    ({"nodes": [{"id": {"a": 1}, "type": ["input"], "data": []}], "edges": []}, "pipeline.nodes[0].id", "string"),
    ("nope", "pipeline", "object"),
    ({"nodes": [], "edges": [], "extra": 1}, "pipeline.extra", "Unknown key"),
])
def test_invalid_pipelines(pipeline, path, fragment):
    errors = errors_of(pipeline)
    assert path in errors, errors
    assert any(fragment in message for message in errors[path]), errors[path]


def test_condition_branches_are_valid():
    pipeline = {
        "nodes": [node("in", "input"), node("c", "condition", expression="input.x > 1"),
                  node("yes", "output"), node("no", "output")],
        "edges": [edge("in", "c"), edge("c", "yes", condition="true"), edge("c", "no", condition="false")],
    }
    assert errors_of(pipeline) == {}


@pytest.mark.parametrize("node, path", [
    ({"id": "t", "type": "template", "data": {"template": "{{ unclosed"}}, "pipeline.nodes[1].data.template"),
    ({"id": "t", "type": "llm_call", "data": {"user_prompt_template": "{% if %}"}},
     "pipeline.nodes[1].data.user_prompt_template"),
    ({"id": "t", "type": "http_request", "data": {"url": "http://x", "headers": {"A": "{{ 1 + }}"}}},
     "pipeline.nodes[1].data.headers.A"),
])
def test_template_syntax_is_checked_on_save(node, path):
    graph = {"nodes": [{"id": "in", "type": "input", "data": {}}, node, {"id": "out", "type": "output", "data": {}}],
             "edges": [{"source": "in", "target": "t"}, {"source": "t", "target": "out"}]}
    _, errors = validate_pipeline(graph)
    assert path in errors and "error" in errors[path][0].lower()


def test_condition_expression_syntax_is_checked_on_save():
    graph = {"nodes": [{"id": "in", "type": "input", "data": {}},
                       {"id": "c", "type": "condition", "data": {"expression": "input.x =="}},
                       {"id": "out", "type": "output", "data": {}}],
             "edges": [{"source": "in", "target": "c"}, {"source": "c", "target": "out", "condition": "true"}]}
    _, errors = validate_pipeline(graph)
    assert "pipeline.nodes[1].data.expression" in errors
