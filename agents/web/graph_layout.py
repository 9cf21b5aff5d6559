"""Where each node of a pipeline sits when drawn, left to right.

A layered layout: a node's column is the longest path to it from a node
without inputs (the ``input`` node), so every edge points right; within a
column, nodes are ordered by the mean row of their predecessors (a
barycentre pass), which untangles most crossings of small graphs.  Pure
functions over the pipeline document; the template draws the result as SVG.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

NODE_W, NODE_H = 210, 78
GAP_X, GAP_Y, PAD = 76, 26, 16
SHORT, LONG = 28, 160  # excerpt lengths: in the drawing, in the table


@dataclass
class Box:
    id: str
    type: str
    data: dict
    column: int
    row: int = 0
    x: float = 0
    y: float = 0
    summary: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    incoming: list[dict] = field(default_factory=list)
    outgoing: list[dict] = field(default_factory=list)

    @property
    def config_json(self) -> str:
        return json.dumps({"id": self.id, "type": self.type, "data": self.data}, indent=2, ensure_ascii=False)

    @property
    def label_lines(self) -> list[dict]:
        """The summary lines with their baseline, for the SVG ``<text>``."""
        return [{"text": line, "y": self.y + 50 + 16 * i} for i, line in enumerate(self.summary[:2])]


@dataclass
class Wire:
    id: str
    source: str
    target: str
    condition: str | None
    path: str = ""
    label_x: float = 0
    label_y: float = 0


@dataclass
class Layout:
    boxes: list[Box]
    wires: list[Wire]
    width: float
    height: float

    def box(self, node_id: str) -> Box | None:
        return next((box for box in self.boxes if box.id == node_id), None)


def excerpt(value, limit: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value) -> str:
    if isinstance(value, dict):
        return ", ".join(str(key) for key in value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


# What each node type's drawing shows of its data, most telling first.
KEY_DATA = {
    "input": ("schema",), "output": ("mapping",), "llm_call": ("model", "user_prompt_template"),
    "agent": ("model", "instructions", "tools"), "condition": ("expression",), "template": ("template",),
    "http_request": ("method", "url"), "knowledge_search": ("query", "top_k"), "subagent": ("agent", "input"),
    "remember": ("content",), "save_artifact": ("title",),
}


def key_data(node_type: str, data: dict) -> list[tuple[str, str]]:
    """``(label, text)`` pairs of the data that says what the node does."""
    pairs = []
    for key in KEY_DATA.get(node_type, tuple(data)[:2]):
        value = data.get(key)
        if key == "schema" and isinstance(value, dict):
            pairs.append(("fields", _describe(value.get("properties") or {}) or "any input"))
        elif key == "model" and node_type == "llm_call":
            model = "/".join(str(data[k]) for k in ("provider", "model") if data.get(k))
            pairs.append(("model", model or "the agent's model"))
        elif key == "mapping" and isinstance(value, dict):
            pairs.append(("keys", _describe(value)))
        elif key == "tools" and isinstance(value, list):
            pairs.append(("tools", ", ".join(str(t.get("id", t)) if isinstance(t, dict) else str(t) for t in value)))
        elif value not in (None, "", [], {}):
            pairs.append((key.replace("_", " "), _describe(value)))
    return pairs


def _columns(ids: list[str], edges: list[dict]) -> dict[str, int]:
    """Longest path from a source, in topological order (Kahn); nodes on a
    cycle (never in a validated pipeline) go to a last column of their own."""
    successors, indegree = defaultdict(list), {node_id: 0 for node_id in ids}
    for edge in edges:
        successors[edge["source"]].append(edge["target"])
        indegree[edge["target"]] += 1
    column = {node_id: 0 for node_id in ids}
    ready = [node_id for node_id in ids if indegree[node_id] == 0]
    placed = set()
    while ready:
        current = ready.pop(0)
        placed.add(current)
        for nxt in successors[current]:
            column[nxt] = max(column[nxt], column[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    last = max(column.values(), default=0) + 1
    return {node_id: column[node_id] if node_id in placed else last for node_id in ids}


def _order_rows(columns: dict[str, list[str]], predecessors: dict[str, list[str]]) -> None:
    """Within each column, sort by the mean row of the node's predecessors."""
    row: dict[str, int] = {}
    for index in sorted(columns):
        members, keys = columns[index], {}
        for position, node_id in enumerate(members):
            rows = [row[p] for p in predecessors[node_id] if p in row]
            keys[node_id] = (sum(rows) / len(rows) if rows else position, position)
        members.sort(key=keys.__getitem__)
        row.update({node_id: i for i, node_id in enumerate(members)})


def layout(pipeline: dict | None) -> Layout:
    """The drawing of ``pipeline`` (``{"nodes", "edges"}``)."""
    pipeline = pipeline or {}
    nodes = [n for n in pipeline.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), str)]
    ids = [n["id"] for n in nodes]
    edges = [e for e in pipeline.get("edges") or []
             if isinstance(e, dict) and e.get("source") in ids and e.get("target") in ids]
    column_of = _columns(ids, edges)
    predecessors = defaultdict(list)
    for edge in edges:
        predecessors[edge["target"]].append(edge["source"])
    columns: dict[int, list[str]] = defaultdict(list)
    for node_id in ids:
        columns[column_of[node_id]].append(node_id)
    _order_rows(columns, predecessors)
    tallest = max((len(members) for members in columns.values()), default=0)
    boxes = {}
    for node in nodes:
        index = column_of[node["id"]]
        members = columns[index]
        row = members.index(node["id"])
        offset = (tallest - len(members)) * (NODE_H + GAP_Y) / 2
        data = node.get("data") if isinstance(node.get("data"), dict) else {}
        pairs = key_data(str(node.get("type")), data)
        boxes[node["id"]] = Box(
            id=node["id"], type=str(node.get("type")), data=data, column=index, row=row,
            x=PAD + index * (NODE_W + GAP_X), y=PAD + offset + row * (NODE_H + GAP_Y),
            summary=[excerpt(text, SHORT) for _label, text in pairs],
            details=[f"{label}: {excerpt(text, LONG)}" for label, text in pairs])
    wires = []
    for index, edge in enumerate(edges):
        wire = Wire(id=str(edge.get("id") or f"e{index + 1}"), source=edge["source"], target=edge["target"],
                    condition=edge.get("condition"))
        _route(wire, boxes[wire.source], boxes[wire.target])
        wires.append(wire)
        boxes[wire.source].outgoing.append({"node": wire.target, "condition": wire.condition})
        boxes[wire.target].incoming.append({"node": wire.source, "condition": wire.condition})
    width = PAD * 2 + (max(columns, default=0) + 1) * (NODE_W + GAP_X) - GAP_X if boxes else 0
    height = PAD * 2 + tallest * (NODE_H + GAP_Y) - GAP_Y if boxes else 0
    return Layout(boxes=list(boxes.values()), wires=wires, width=width, height=height)


def _route(wire: Wire, source: Box, target: Box) -> None:
    """A cubic curve from the source's right side to the target's left side."""
    x0, y0 = source.x + NODE_W, source.y + NODE_H / 2
    x3, y3 = target.x, target.y + NODE_H / 2
    bend = max(GAP_X / 2, (x3 - x0) / 2)
    x1, x2 = x0 + bend, x3 - bend
    wire.path = f"M{x0:.1f},{y0:.1f} C{x1:.1f},{y0:.1f} {x2:.1f},{y3:.1f} {x3 - 2:.1f},{y3:.1f}"
    # The curve's midpoint (t = ½): (P0 + 3·P1 + 3·P2 + P3) / 8.
    wire.label_x = (x0 + 3 * x1 + 3 * x2 + x3) / 8
    wire.label_y = (y0 + 3 * y0 + 3 * y3 + y3) / 8
