"""The graph runner: starts every node whose inputs are ready, so independent
branches run concurrently (API.md §5).

A node runs once all of its incoming edges are settled and at least one of
them is *live*: its source succeeded and, for an edge leaving a condition
node, the condition's verdict matches the edge.  A node none of whose edges
is live is skipped, and the skip flows on downstream.  The first failing node
cancels the rest and fails the run.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from executions.engine.context import NodeFailure, NodeTimeout, RunContext, StepOutcome
from executions.engine.nodes import NODES, TOOLS
from executions.engine.templating import TemplateProblem

SUCCEEDED, SKIPPED = "succeeded", "skipped"


def single_agent_pipeline() -> dict:
    """What an agent without nodes runs: its config as one ``agent`` node."""
    return {
        "nodes": [
            {"id": "input", "type": "input", "data": {}},
            {"id": "agent", "type": "agent", "data": {}},
            {"id": "output", "type": "output", "data": {"mapping": "{{nodes.agent.output}}"}},
        ],
        "edges": [
            {"id": "e1", "source": "input", "target": "agent"},
            {"id": "e2", "source": "agent", "target": "output"},
        ],
    }


def effective_pipeline(pipeline: dict | None) -> dict:
    if not pipeline or not pipeline.get("nodes"):
        return single_agent_pipeline()
    return pipeline


async def run_pipeline(ctx: RunContext, pipeline: dict) -> Any:
    """Run ``pipeline`` to completion and return its output: the single output
    node's value, or ``{output_node_id: value}`` when several ran.

    Nodes that run others find the runner and the tool types on ``ctx``."""
    ctx.runner, ctx.tools = run_pipeline, TOOLS
    pipeline = effective_pipeline(pipeline)
    nodes = {node["id"]: node for node in pipeline["nodes"]}
    incoming, outgoing = defaultdict(list), defaultdict(list)
    for edge in pipeline["edges"]:
        incoming[edge["target"]].append(edge)
        outgoing[edge["source"]].append(edge)

    state: dict[str, str] = {}  # settled nodes: succeeded or skipped
    verdicts: dict[str, bool | None] = {}
    running: dict[asyncio.Task, str] = {}
    started: set[str] = set()

    def edge_live(edge) -> bool:
        if state.get(edge["source"]) != SUCCEEDED:
            return False
        condition = edge.get("condition")
        return condition is None or (condition == "true") == bool(verdicts.get(edge["source"]))

    def settle_and_start(candidates):
        """Start or skip every candidate whose incoming edges are all settled."""
        queue = list(candidates)
        while queue:
            node_id = queue.pop()
            if node_id in started:
                continue
            edges = incoming[node_id]
            if any(edge["source"] not in state for edge in edges):
                continue
            started.add(node_id)
            if edges and not any(edge_live(edge) for edge in edges):
                state[node_id] = SKIPPED
                queue.extend(edge["target"] for edge in outgoing[node_id])
                continue
            node = {**nodes[node_id], "sources": [edge["source"] for edge in edges if edge_live(edge)]}
            task = asyncio.ensure_future(_run_node(ctx, node))
            running[task] = node_id

    settle_and_start(node_id for node_id in nodes if not incoming[node_id])
    try:
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                node_id = running.pop(task)
                outcome = task.result()  # a failure propagates and cancels the rest below
                state[node_id] = SUCCEEDED
                verdicts[node_id] = outcome.branch
                ctx.outputs[node_id] = {"output": outcome.output, "status": SUCCEEDED}
                settle_and_start(edge["target"] for edge in outgoing[node_id])
    finally:
        pending = list(running)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    finished_outputs = {node_id: ctx.outputs[node_id]["output"] for node_id, node in nodes.items()
                        if node["type"] == "output" and state.get(node_id) == SUCCEEDED}
    if len(finished_outputs) == 1:
        return next(iter(finished_outputs.values()))
    return finished_outputs


async def _run_node(ctx: RunContext, node: dict) -> StepOutcome:
    """Run one node as one step of the trace."""
    node_id = ctx.node_prefix + node["id"]
    handler = NODES[node["type"]]
    step_input = handler.describe_input(node, ctx)
    step = await ctx.recorder.step_started(node_id, node["type"], step_input)
    try:
        timeout = _node_timeout(node)
        async with asyncio.timeout(timeout):
            outcome = await handler.run(node, ctx)
    except asyncio.CancelledError:
        await asyncio.shield(ctx.recorder.step_finished(step, status="cancelled", outcome=None, error=None))
        raise
    except TimeoutError:
        # Our own per-node timeout (the run-wide one cancels us instead).
        failure = NodeTimeout(f"Node {node_id!r} took longer than {_node_timeout(node)} s.", node_id=node_id)
        await ctx.recorder.step_finished(step, status="failed", outcome=None, error=failure.to_dict())
        raise failure from None
    except NodeFailure as failure:
        failure.node_id = failure.node_id or node_id
        await ctx.recorder.step_finished(step, status="failed", outcome=failure.outcome,
                                         error=failure.to_dict())
        raise
    except TemplateProblem as exc:
        failure = NodeFailure(str(exc), node_id=node_id)
        await ctx.recorder.step_finished(step, status="failed", outcome=None, error=failure.to_dict())
        raise failure from exc
    await ctx.recorder.step_finished(step, status="succeeded", outcome=outcome, error=None)
    return outcome


def _node_timeout(node: dict) -> float | None:
    """``data.timeout`` in seconds, when the node sets one."""
    value = node.get("data", {}).get("timeout")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None
