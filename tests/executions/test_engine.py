"""The graph runner on its own: ordering, skips, concurrency, failure and
cancellation, with an in-memory recorder (no database, no HTTP)."""

import asyncio
import uuid

import pytest

from executions.engine.context import AgentDefinition, NodeFailure, RunContext
from executions.engine.nodes import NODES, Node
from executions.engine.runner import run_pipeline
from executions.engine.templating import evaluate, render_value


class MemoryRecorder:
    def __init__(self):
        self.steps, self.events = [], []

    async def step_started(self, node_id, node_type, step_input):
        step = {"node_id": node_id, "type": node_type, "status": "running"}
        self.steps.append(step)
        return step

    async def step_finished(self, step, *, status, outcome, error):
        step.update(status=status, output=outcome.output if outcome else None, error=error)

    async def event(self, kind, data):
        self.events.append((kind, data))

    async def delta(self, node_id, text):
        pass


class MemoryCatalogue:
    """An installation with no providers and no other agents."""

    async def provider(self, ref):
        raise LookupError(f"Unknown provider {ref!r}.")

    async def subagent(self, ref, user_id):
        raise LookupError("Subagents need a user behind the run." if user_id is None else f"No agent {ref!r}.")

    async def env(self, definition):
        return {}


def run(pipeline, input=None):
    recorder = MemoryRecorder()
    definition = AgentDefinition(id=uuid.uuid4(), slug="t", owner_id=uuid.uuid4(),
                                 config={"model": {"provider": "echo", "model": "echo"}}, pipeline=pipeline)
    ctx = RunContext(execution_id=uuid.uuid4(), agent=definition, input=input or {}, env={"K": "v"},
                     recorder=recorder, catalogue=MemoryCatalogue())
    return asyncio.run(run_pipeline(ctx, pipeline)), recorder


def graph(nodes, edges):
    return {"nodes": [{"id": i, "type": t, "data": d} for i, t, d in nodes],
            "edges": [{"id": f"e{n}", "source": s, "target": t, **({"condition": c[0]} if c else {})}
                      for n, (s, t, *c) in enumerate(edges)]}


def test_skips_flow_downstream_and_a_join_runs_if_any_input_is_live():
    pipeline = graph(
        [("in", "input", {}), ("c", "condition", {"expression": "input.go"}),
         ("yes", "template", {"template": "yes"}), ("after_yes", "template", {"template": "{{nodes.yes.output}}!"}),
         ("no", "template", {"template": "no"}), ("join", "output", {})],
        [("in", "c"), ("c", "yes", "true"), ("yes", "after_yes"), ("c", "no", "false"),
         ("after_yes", "join"), ("no", "join")])

    output, recorder = run(pipeline, {"go": False})

    assert output == "no"
    assert [s["node_id"] for s in recorder.steps] == ["in", "c", "no", "join"]
    output, recorder = run(pipeline, {"go": True})
    assert output == "yes!"
    assert "no" not in [s["node_id"] for s in recorder.steps]


def test_several_output_nodes_give_an_object():
    pipeline = graph([("in", "input", {}), ("a", "output", {"mapping": "A"}), ("b", "output", {"mapping": "B"})],
                     [("in", "a"), ("in", "b")])
    assert run(pipeline)[0] == {"a": "A", "b": "B"}


class SlowNode(Node):
    type = "slow"

    @classmethod
    async def run(cls, node, ctx):
        await asyncio.sleep(5)


def test_a_failing_node_cancels_its_concurrent_siblings(monkeypatch):
    monkeypatch.setitem(NODES, "slow", SlowNode)
    pipeline = graph(
        [("in", "input", {}), ("slow", "slow", {}), ("bad", "subagent", {"agent": "nobody"}), ("out", "output", {})],
        [("in", "slow"), ("in", "bad"), ("slow", "out"), ("bad", "out")])
    recorder = MemoryRecorder()
    definition = AgentDefinition(id=uuid.uuid4(), slug="t", owner_id=uuid.uuid4(), config={}, pipeline=pipeline)
    ctx = RunContext(execution_id=uuid.uuid4(), agent=definition, input={}, env={}, recorder=recorder,
                     catalogue=MemoryCatalogue())

    with pytest.raises(NodeFailure) as failure:
        asyncio.run(asyncio.wait_for(run_pipeline(ctx, pipeline), 2))

    assert failure.value.node_id == "bad" and "user" in failure.value.message
    assert {s["node_id"]: s["status"] for s in recorder.steps} == {
        "in": "succeeded", "slow": "cancelled", "bad": "failed"}


def test_output_mapping_keeps_types_and_renders_text():
    context = {"input": {"n": 3, "tags": ["a", "b"]}, "nodes": {"x": {"output": {"k": 1}}}, "env": {}, "memory": ""}
    assert render_value({"n": "{{input.n}}", "obj": "{{ nodes.x.output }}", "text": "n={{input.n}}",
                         "list": ["{{input.tags}}"]}, context) == {
        "n": 3, "obj": {"k": 1}, "text": "n=3", "list": [["a", "b"]]}
    assert evaluate("{{ input.n > 2 }}", context) is True
    assert render_value("{{ missing.deep.key }}", context) is None
