"""What the nodes that call a model share (``llm_call``, ``agent``): which
model and fallbacks, their parameters, and one call with retries."""

from __future__ import annotations

from collections.abc import Sequence

from executions.engine.context import NodeFailure, ProviderFailure, RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import as_text
from executions.llm.base import Completion, CompletionRequest, Message, ToolSpec
from executions.llm.retry import AllCandidatesFailed, Candidate, complete_with_fallbacks, cost_usd

# Prompt keys that must be strings when a model node sets them.
PROMPT_KEYS = ("system_prompt_template", "user_prompt_template", "instructions")


class ModelNode(Node, abstract=True):
    """A node that calls a model."""

    calls_model = True
    stream_role = "assistant"

    @classmethod
    def data_problems(cls, data: dict):
        for key in PROMPT_KEYS:
            if key in data and not isinstance(data[key], str):
                yield key, "Must be a string."


def agent_instructions(config: dict) -> str:
    """The system prompt a node without its own gets: the agent's instructions and personality."""
    return "\n\n".join(part for part in (config.get("instructions"), config.get("personality")) if part)


def input_message(ctx: RunContext) -> str:
    """What the user said: the input's ``message``, else the whole input as text."""
    message = ctx.input.get("message") if isinstance(ctx.input, dict) else None
    return message if isinstance(message, str) else as_text(ctx.input)


def model_choice(data: dict, config: dict) -> tuple[dict, list[dict]]:
    """The node's model (its own, else the agent's) and the fallbacks to try after it."""
    model = data.get("model")
    if isinstance(model, dict) and model.get("provider"):
        primary = {"provider": model["provider"], "model": model.get("model", "")}
    elif data.get("provider"):
        primary = {"provider": data["provider"], "model": model if isinstance(model, str) else ""}
    else:
        primary = {"provider": config["model"]["provider"], "model": config["model"]["model"]}
    if not primary["model"]:
        primary["model"] = config["model"]["model"]
    fallbacks = data.get("fallback_models")
    if not isinstance(fallbacks, list):
        fallbacks = config.get("fallback_models", [])
    return primary, [f for f in fallbacks if isinstance(f, dict) and f.get("provider") and f.get("model")]


async def candidates(data: dict, ctx: RunContext) -> list[Candidate]:
    """The node's model and fallbacks with their providers' settings, from the catalogue."""
    primary, fallbacks = model_choice(data, ctx.agent.config)
    found = []
    for choice in [primary, *fallbacks]:
        try:
            provider = await ctx.catalogue.provider(choice["provider"])
        except LookupError:
            raise NodeFailure(f"Unknown provider {choice['provider']!r}.") from None
        except ValueError as exc:  # its stored key no longer decrypts
            raise NodeFailure(f"Provider {choice['provider']!r}: {exc}") from None
        found.append(Candidate(provider=provider, model=choice["model"]))
    return found


def model_params(data: dict, config: dict) -> dict:
    """The agent's model parameters, overridden by the node's."""
    merged = dict(config["model"].get("params", {}))
    if isinstance(data.get("params"), dict):
        merged.update(data["params"])
    return merged


def completion_request(messages: list[Message], params: dict, *, tools: Sequence[ToolSpec] = (),
                       response_format: dict | None = None) -> CompletionRequest:
    """The request for ``messages``; each candidate fills in its own model."""
    return CompletionRequest(
        model="", messages=tuple(messages),
        temperature=params.get("temperature"), max_tokens=params.get("max_tokens"),
        top_p=params.get("top_p"), stop=tuple(params.get("stop") or ()), seed=params.get("seed"),
        tools=tuple(tools), response_format=response_format)


async def complete(ctx: RunContext, node_id: str, candidates: list[Candidate],
                   request: CompletionRequest) -> tuple[StepOutcome, Completion]:
    """One model call with retries and fallbacks, as a ``StepOutcome`` plus the completion."""
    on_delta = None
    if ctx.stream_deltas:
        async def on_delta(text):
            await ctx.recorder.delta(node_id, text)
    try:
        # Retries and backoff are the LLM package's settings (AGENTRY_LLM_RETRIES, AGENTRY_LLM_BACKOFF_BASE).
        completion, used, attempts = await complete_with_fallbacks(
            candidates, request, clients=ctx.llm_clients, on_delta=on_delta)
    except AllCandidatesFailed as exc:
        attempts = [a.to_dict() for a in exc.attempts]
        raise ProviderFailure(exc.message, details={"attempts": attempts},
                              outcome=StepOutcome(output=None, attempts=attempts)) from None
    outcome = StepOutcome(
        output=completion.text, provider=used.provider.name, model=used.model,
        tokens_prompt=completion.usage.prompt_tokens, tokens_completion=completion.usage.completion_tokens,
        cost_usd=cost_usd(used.provider, used.model, completion.usage),
        attempts=[a.to_dict() for a in attempts])
    return outcome, completion
