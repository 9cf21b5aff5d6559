"""Per-run cost estimates (API.md §3 ``cost-estimate``).

*Static*: from the definition alone.  Each model-calling node is counted
once, its prompt tokens estimated from its instructions and templates and its
completion at the model's ``max_tokens`` (so the figure is an upper bound per
call), priced with the provider's per-million prices.

*History*: from the agent's last succeeded executions: average and 95th
percentile of tokens, cost and duration, and each node's average.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.db.models import Avg, Count

from executions.engine.nodes import NODES
from executions.engine.nodes.llm import model_choice
from executions.engine.runner import effective_pipeline
from executions.llm.base import Usage
from executions.llm.echo import estimate_tokens
from executions.llm.retry import cost_usd
from executions.models import Execution, ExecutionStatus, ExecutionStep
from executions.selectors import UnknownProvider, resolve_provider

DEFAULT_SAMPLE = 100


def cost_estimate(agent, *, sample_size: int = DEFAULT_SAMPLE) -> dict:
    return {"currency": "USD", "static": static_estimate(agent), "history": history_estimate(agent, sample_size)}


def static_estimate(agent) -> dict:
    config, nodes, providers = agent.config, [], {}
    for node in effective_pipeline(agent.pipeline)["nodes"]:
        if node["type"] not in NODES or not NODES[node["type"]].calls_model:
            continue
        data = node.get("data", {})
        primary, _fallbacks = model_choice(data, config)
        provider_ref, model = primary["provider"], primary["model"]
        if provider_ref not in providers:
            try:
                providers[provider_ref] = resolve_provider(provider_ref)
            except (UnknownProvider, ValueError):
                providers[provider_ref] = None
        provider = providers[provider_ref]
        params = {**config["model"].get("params", {}), **(data.get("params") or {})}
        prompt_text = "\n".join(str(part) for part in (
            data.get("system_prompt_template", data.get("instructions", config.get("instructions", ""))),
            data.get("user_prompt_template", data.get("prompt", "")),
            *(tool.get("description", "") for tool in config.get("tools", []) if node["type"] == "agent"),
        ) if part)
        usage = Usage(prompt_tokens=estimate_tokens(prompt_text), completion_tokens=int(params.get("max_tokens", 0)))
        priced = provider is not None and model in provider.prices
        cost = cost_usd(provider, model, usage) if provider is not None else Decimal(0)
        nodes.append({"node_id": node["id"], "type": node["type"], "provider": provider_ref, "model": model,
                      "tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
                      "tokens_used": usage.total_tokens, "cost_usd": float(cost), "priced": priced,
                      "max_calls": int(data.get("max_iterations") or config.get("max_iterations", 1))
                      if node["type"] == "agent" else 1})
    prompt = sum(n["tokens"]["prompt"] for n in nodes)
    completion = sum(n["tokens"]["completion"] for n in nodes)
    return {"tokens": {"prompt": prompt, "completion": completion}, "tokens_used": prompt + completion,
            "cost_usd": round(sum(n["cost_usd"] for n in nodes), 8),
            "max_cost_usd": round(sum(n["cost_usd"] * n["max_calls"] for n in nodes), 8), "nodes": nodes}


def history_estimate(agent, sample_size: int) -> dict:
    recent = list(Execution.objects.filter(agent=agent, status=ExecutionStatus.SUCCEEDED)
                  .order_by("-created_at", "-id")
                  .values_list("pk", "tokens_prompt", "tokens_completion", "cost_usd", "duration_ms")[:sample_size])
    if not recent:
        return {"executions": 0, "avg": None, "p95": None, "nodes": []}
    tokens = [p + c for _, p, c, _, _ in recent]
    costs = [float(cost) for *_, cost, _ in recent]
    durations = [d or 0 for *_, d in recent]
    steps = (ExecutionStep.objects.filter(execution_id__in=[row[0] for row in recent])
             .values("node_id", "node_type")
             .annotate(runs=Count("id"), prompt=Avg("tokens_prompt"), completion=Avg("tokens_completion"),
                       cost=Avg("cost_usd"))
             .order_by("node_id"))
    return {
        "executions": len(recent),
        "avg": {"tokens_used": round(sum(tokens) / len(tokens), 1), "cost_usd": round(sum(costs) / len(costs), 8),
                "duration_ms": round(sum(durations) / len(durations), 1)},
        "p95": {"tokens_used": _p95(tokens), "cost_usd": _p95(costs), "duration_ms": _p95(durations)},
        "nodes": [{"node_id": row["node_id"], "type": row["node_type"], "runs": row["runs"],
                   "avg_tokens": {"prompt": round(row["prompt"] or 0, 1),
                                  "completion": round(row["completion"] or 0, 1)},
                   "avg_cost_usd": round(float(row["cost"] or 0), 8)} for row in steps],
    }


def _p95(values: list) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
