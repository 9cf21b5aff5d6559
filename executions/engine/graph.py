"""Pipeline graph validation (API.md §5): pure functions, no ORM.

A pipeline is ``{"nodes": [{"id", "type", "data"}], "edges": [{"id",
"source", "target", "condition"?}]}``, a DAG with exactly one ``input`` node,
at least one ``output`` node, and every node reachable from the input.  An
empty pipeline is valid: the agent then runs its config as one agent node.
"""

from __future__ import annotations

from collections import defaultdict, deque

from executions.engine.nodes import NODE_TYPES, NODES
from executions.engine.templating import check_template

MAX_NODES = 200


class PipelineErrors:
    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def __bool__(self):
        return bool(self.errors)


def empty_pipeline() -> dict:
    return {"nodes": [], "edges": []}


def validate_pipeline(pipeline, prefix: str = "pipeline") -> tuple[dict, dict[str, list[str]]]:
    """Return the normalised pipeline and a map of error paths to messages."""
    errs = PipelineErrors()
    if pipeline is None:
        return empty_pipeline(), {}
    if not isinstance(pipeline, dict):
        errs.add(prefix, "Must be an object with nodes and edges.")
        return empty_pipeline(), errs.errors
    unknown_keys = set(pipeline) - {"nodes", "edges"}
    for key in sorted(unknown_keys):
        errs.add(f"{prefix}.{key}", "Unknown key; a pipeline has nodes and edges.")
    nodes = _validate_nodes(pipeline.get("nodes", []), f"{prefix}.nodes", errs)
    edges = _validate_edges(pipeline.get("edges", []), nodes, f"{prefix}.edges", errs)
    if not errs and (nodes or edges):
        _validate_graph(nodes, edges, prefix, errs)
    return {"nodes": nodes, "edges": edges}, errs.errors


def _validate_nodes(raw, path, errs) -> list[dict]:
    if not isinstance(raw, list):
        errs.add(path, "Must be a list.")
        return []
    if len(raw) > MAX_NODES:
        errs.add(path, f"At most {MAX_NODES} nodes.")
    nodes, seen = [], set()
    for index, node in enumerate(raw):
        here = f"{path}[{index}]"
        if not isinstance(node, dict):
            errs.add(here, "Must be an object with id, type and data.")
            continue
        node_id, node_type, data = node.get("id"), node.get("type"), node.get("data", {})
        if not isinstance(node_id, str) or not node_id.strip() or len(node_id) > 100:
            errs.add(f"{here}.id", "Must be a non-empty string of at most 100 characters.")
        elif node_id in seen:
            errs.add(f"{here}.id", f"Duplicate node id {node_id!r}.")
        else:
            seen.add(node_id)
        if node_type not in NODE_TYPES:
            errs.add(f"{here}.type", f"Unknown node type {node_type!r}; choose from {', '.join(NODE_TYPES)}.")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            errs.add(f"{here}.data", "Must be an object.")
            data = {}
        elif node_type in NODE_TYPES:
            _validate_node_data(node_type, data, f"{here}.data", errs)
        nodes.append({"id": node_id, "type": node_type, "data": data})
    return nodes


def _validate_node_data(node_type: str, data: dict, path: str, errs) -> None:
    """What the node type declares: its required keys, its own checks, its templates."""
    node_class = NODES[node_type]
    for key, kind in node_class.required_data.items():
        if not isinstance(data.get(key), kind) or not data.get(key):
            errs.add(f"{path}.{key}", f"Required for a {node_type} node.")
    for key, problem in node_class.data_problems(data):
        errs.add(f"{path}.{key}", problem)
    for key in node_class.template_keys:
        if key in data:
            _check_templates(data[key], f"{path}.{key}", errs)


def _check_templates(value, path: str, errs) -> None:
    """Template syntax is checked on save, so a typo is a 400 now, not a failed run later."""
    if isinstance(value, str):
        problem = check_template(value)
        if problem:
            errs.add(path, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_templates(item, f"{path}.{key}", errs)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_templates(item, f"{path}[{index}]", errs)


def _validate_edges(raw, nodes, path, errs) -> list[dict]:
    if not isinstance(raw, list):
        errs.add(path, "Must be a list.")
        return []
    node_types = {n["id"]: n["type"] for n in nodes if isinstance(n.get("id"), str)}
    edges, seen, pairs = [], set(), set()
    for index, edge in enumerate(raw):
        here = f"{path}[{index}]"
        if not isinstance(edge, dict):
            errs.add(here, "Must be an object with id, source and target.")
            continue
        edge_id = edge.get("id") or f"e{index + 1}"
        source, target, condition = edge.get("source"), edge.get("target"), edge.get("condition")
        if condition is not None and not isinstance(condition, str):
            errs.add(f"{here}.condition", 'Must be "true" or "false".')
            condition = None
        if not isinstance(edge_id, str):
            errs.add(f"{here}.id", "Must be a string.")
        elif edge_id in seen:
            errs.add(f"{here}.id", f"Duplicate edge id {edge_id!r}.")
        else:
            seen.add(edge_id)
        for key, ref in (("source", source), ("target", target)):
            if not isinstance(ref, str) or ref not in node_types:
                errs.add(f"{here}.{key}", f"No node with id {ref!r}.")
        if source == target and source is not None:
            errs.add(here, "An edge cannot connect a node to itself.")
        if not all(isinstance(x, str) for x in (source, target)):
            continue
        if (source, target, condition) in pairs:
            errs.add(here, f"Duplicate edge from {source!r} to {target!r}.")
        pairs.add((source, target, condition))
        from_condition = node_types.get(source) == "condition"
        if from_condition and condition not in ("true", "false"):
            errs.add(f"{here}.condition", "Edges leaving a condition node need condition \"true\" or \"false\".")
        elif not from_condition and condition is not None:
            errs.add(f"{here}.condition", "Only edges leaving a condition node carry a condition.")
        normalised = {"id": edge_id, "source": source, "target": target}
        if condition is not None:
            normalised["condition"] = condition
        edges.append(normalised)
    return edges


def _validate_graph(nodes, edges, prefix, errs) -> None:
    by_type = defaultdict(list)
    for node in nodes:
        by_type[node["type"]].append(node["id"])
    if len(by_type["input"]) != 1:
        errs.add(f"{prefix}.nodes", f"Needs exactly one input node; found {len(by_type['input'])}.")
    if not by_type["output"]:
        errs.add(f"{prefix}.nodes", "Needs at least one output node.")
    successors, indegree = defaultdict(list), {n["id"]: 0 for n in nodes}
    for edge in edges:
        successors[edge["source"]].append(edge["target"])
        indegree[edge["target"]] += 1
    for node in nodes:
        if node["type"] == "input" and indegree[node["id"]]:
            errs.add(f"{prefix}.edges", f"The input node {node['id']!r} cannot have incoming edges.")
        if node["type"] == "output" and successors[node["id"]]:
            errs.add(f"{prefix}.edges", f"The output node {node['id']!r} cannot have outgoing edges.")
    # Kahn's algorithm: whatever never reaches in-degree 0 sits on a cycle.
    remaining, ready = dict(indegree), deque(n for n, d in indegree.items() if d == 0)
    while ready:
        current = ready.popleft()
        for nxt in successors[current]:
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                ready.append(nxt)
    cyclic = sorted(n for n, d in remaining.items() if d > 0)
    if cyclic:
        errs.add(f"{prefix}.edges", f"The graph has a cycle through: {', '.join(cyclic)}.")
        return
    if len(by_type["input"]) == 1:
        start = by_type["input"][0]
        reached, frontier = {start}, [start]
        while frontier:
            for nxt in successors[frontier.pop()]:
                if nxt not in reached:
                    reached.add(nxt)
                    frontier.append(nxt)
        unreachable = [n["id"] for n in nodes if n["id"] not in reached]
        if unreachable:
            errs.add(f"{prefix}.nodes", f"Not reachable from the input node: {', '.join(unreachable)}.")
