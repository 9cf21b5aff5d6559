"""Node types (API.md §5).  Each handler's ``run(node, ctx)`` returns a
``StepOutcome``; the runner records it as one step of the trace."""

from __future__ import annotations

import dataclasses
import uuid

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings

from core.errors import error_summary
from core.nesting import json_loads
from executions.engine.context import (
    AgentDefinition,
    InputInvalid,
    NodeFailure,
    ProviderFailure,
    RunContext,
    StepOutcome,
)
from executions.engine.inputs import input_errors
from executions.engine.templating import as_text, evaluate, render, render_value
from executions.llm.base import CompletionRequest, Message, ToolCall, ToolSpec
from executions.llm.retry import AllCandidatesFailed, Candidate, complete_with_fallbacks, cost_usd

MAX_SUBAGENT_DEPTH = 3
MAX_HTTP_BODY_BYTES = 1_000_000


def _agent_instructions(config: dict) -> str:
    """The system prompt a node without its own gets: the agent's instructions and personality."""
    return "\n\n".join(part for part in (config.get("instructions"), config.get("personality")) if part)


def _input_message(ctx: RunContext) -> str:
    message = ctx.input.get("message") if isinstance(ctx.input, dict) else None
    return message if isinstance(message, str) else as_text(ctx.input)


# --- input, output, template, condition -------------------------------------------------

class InputNode:
    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        schema = node["data"].get("schema")
        if schema:
            errors = input_errors(schema, ctx.input)
            if errors:
                raise InputInvalid(error_summary(errors), errors=errors)
        return StepOutcome(output=ctx.input)

    @staticmethod
    def describe_input(node, ctx):
        return ctx.input


class OutputNode:
    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        mapping = node["data"].get("mapping")
        if mapping is None:
            # No mapping: pass through what flowed in (one source) or all of it.
            sources = node.get("sources", [])
            values = {source: ctx.outputs[source]["output"] for source in sources}
            return StepOutcome(output=next(iter(values.values())) if len(values) == 1 else values)
        return StepOutcome(output=render_value(mapping, ctx.template_context()))


class TemplateNode:
    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        return StepOutcome(output=render(node["data"]["template"], ctx.template_context()))


class ConditionNode:
    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        verdict = bool(evaluate(node["data"]["expression"], ctx.template_context()))
        return StepOutcome(output=verdict, branch=verdict)


# --- models ---------------------------------------------------------------------------------

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


async def _candidates(data: dict, config: dict) -> list[Candidate]:
    from executions.selectors import UnknownProvider, resolve_provider

    primary, fallbacks = model_choice(data, config)
    candidates = []
    for choice in [primary, *fallbacks]:
        try:
            provider = await sync_to_async(resolve_provider)(choice["provider"])
        except UnknownProvider:
            raise NodeFailure(f"Unknown provider {choice['provider']!r}.") from None
        except ValueError as exc:  # its stored key no longer decrypts
            raise NodeFailure(f"Provider {choice['provider']!r}: {exc}") from None
        candidates.append(Candidate(provider=provider, model=choice["model"]))
    return candidates


def _params(data: dict, config: dict) -> dict:
    params = dict(config["model"].get("params", {}))
    if isinstance(data.get("params"), dict):
        params.update(data["params"])
    return params


def _request(model: str, messages: list[Message], params: dict, *, tools=(), response_format=None):
    return CompletionRequest(
        model=model, messages=tuple(messages),
        temperature=params.get("temperature"), max_tokens=params.get("max_tokens"),
        top_p=params.get("top_p"), stop=tuple(params.get("stop") or ()), seed=params.get("seed"),
        tools=tuple(tools), response_format=response_format)


async def _complete(ctx: RunContext, node_id: str, candidates: list[Candidate], request: CompletionRequest):
    """One model call with retries and fallbacks, as a ``StepOutcome`` plus the completion."""
    on_delta = None
    if ctx.stream_deltas:
        async def on_delta(text):
            await ctx.recorder.delta(node_id, text)
    try:
        completion, used, attempts = await complete_with_fallbacks(
            candidates, request, retries=settings.AGENTRY_LLM_RETRIES,
            backoff_base=settings.AGENTRY_LLM_BACKOFF_BASE, clients=ctx.llm_clients, on_delta=on_delta)
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


class LlmCallNode:
    @staticmethod
    def describe_input(node, ctx):
        return {"messages": [{"role": m.role, "content": m.content} for m in LlmCallNode.messages(node, ctx)]}

    @staticmethod
    def messages(node, ctx: RunContext) -> list[Message]:
        data, context = node["data"], ctx.template_context()
        system = data.get("system_prompt_template")
        if system is None:
            system = _agent_instructions(ctx.agent.config)
        user_template = data.get("user_prompt_template")
        user = render(user_template, context) if user_template is not None else _input_message(ctx)
        messages = [Message("system", render(system, context))] if system else []
        return [*messages, Message("user", user)]

    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        data = node["data"]
        candidates = await _candidates(data, ctx.agent.config)
        response_format = data.get("response_format") if isinstance(data.get("response_format"), dict) else None
        request = _request("", LlmCallNode.messages(node, ctx), _params(data, ctx.agent.config),
                           response_format=response_format)
        outcome, completion = await _complete(ctx, ctx.node_prefix + node["id"], candidates, request)
        if response_format and response_format.get("type") in ("json_object", "json_schema"):
            try:
                outcome.output = json_loads(completion.text)
            except ValueError:
                pass  # the model ignored the format; keep its text
        return outcome


# --- the agent loop ---------------------------------------------------------------------------

def _tool_specs(tools: list[dict]) -> list[ToolSpec]:
    specs = []
    for tool in tools:
        parameters = tool.get("config", {}).get("parameters") or {
            "type": "object", "properties": {"input": {"type": "string", "description": "What to pass on."}}}
        specs.append(ToolSpec(name=tool["id"], description=tool.get("description", ""), parameters=parameters))
    return specs


class AgentNode:
    """Function calling: ask the model, run the tools it calls, feed the results
    back, until it answers without tool calls or ``max_iterations`` is spent."""

    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        data, config = node["data"], ctx.agent.config
        node_id = ctx.node_prefix + node["id"]
        context = ctx.template_context()
        instructions = data.get("instructions")
        if instructions is None:
            instructions = _agent_instructions(config)
        prompt = data.get("prompt")
        messages = [Message("system", render(instructions, context))] if instructions else []
        messages.append(Message("user", render(prompt, context) if isinstance(prompt, str) else _input_message(ctx)))
        tools = data.get("tools") if isinstance(data.get("tools"), list) else config.get("tools", [])
        tools_by_name = {tool["id"]: tool for tool in tools}
        max_iterations = data.get("max_iterations") or config.get("max_iterations", 10)
        candidates = await _candidates(data, config)
        params = _params(data, config)
        total = StepOutcome(output=None)

        for _ in range(int(max_iterations)):
            iteration_id = str(uuid.uuid4())
            request = _request("", messages, params, tools=_tool_specs(tools))
            try:
                outcome, completion = await _complete(ctx, node_id, candidates, request)
            except ProviderFailure as failure:
                total.add_usage(failure.outcome)
                failure.outcome = total
                raise
            total.add_usage(outcome)
            total.provider, total.model = outcome.provider, outcome.model
            await ctx.recorder.event("step", {
                "id": iteration_id, "role": "assistant", "content": completion.text, "node_id": node_id,
                "agent_iteration_id": iteration_id,
                "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                               for c in completion.tool_calls]})
            if not completion.tool_calls:
                total.output = completion.text
                return total
            messages.append(Message("assistant", completion.text, tool_calls=completion.tool_calls))
            for call in completion.tool_calls:
                result = await _run_tool(ctx, node_id, tools_by_name.get(call.name), call)
                messages.append(Message("tool", result, tool_call_id=call.id))
                await ctx.recorder.event("step", {
                    "id": str(uuid.uuid4()), "role": "tool", "content": result, "node_id": node_id,
                    "agent_iteration_id": iteration_id, "tool_call_id": call.id, "name": call.name})
        raise NodeFailure(f"No final answer after max_iterations={max_iterations}.", outcome=total)


async def _run_tool(ctx: RunContext, node_id: str, tool: dict | None, call: ToolCall) -> str:
    """Run one tool the model called; errors go back to the model as text."""
    if tool is None:
        return f"error: no tool named {call.name!r}"
    tool_config = tool.get("config", {})
    args = call.arguments if isinstance(call.arguments, dict) else {}
    pseudo = {"id": f"{node_id}:{tool['id']}", "type": tool["type"], "data": {**tool_config, "args": args}}
    if tool["type"] == "subagent":
        pseudo["data"].setdefault("input", args)
        tool_ctx = ctx
    else:  # the call's arguments read as input, beside the run's own
        tool_ctx = dataclasses.replace(ctx, input={**ctx.input, **args})
    try:
        outcome = await TOOL_HANDLERS[tool["type"]].run(pseudo, tool_ctx)
    except ProviderFailure as failure:
        return f"error: {failure.message}"
    except NodeFailure as failure:
        return f"error: {failure.message}"
    return as_text(outcome.output)


# --- http_request, knowledge_search, subagent ----------------------------------------------

class HttpRequestNode:
    """An HTTP call through the private-address guard, redirects included."""

    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        from core.netguard import BlockedRequest, guarded_async_client

        data, context = node["data"], {**ctx.template_context(), "args": node["data"].get("args", {})}
        method = str(data.get("method", "GET")).upper()
        url = render(data["url"], context)
        headers = {str(k): as_text(render_value(v, context)) for k, v in (data.get("headers") or {}).items()}
        body = data.get("body")
        kwargs = {}
        if body is not None and method not in ("GET", "HEAD"):
            value = render_value(body, context)
            if isinstance(value, (dict, list)):
                kwargs["json"] = value
            else:
                kwargs["content"] = as_text(value).encode()
        timeout = float(data.get("timeout") or 30)
        try:
            async with guarded_async_client(timeout=timeout, follow_redirects=True) as client:
                response = await client.request(method, url, headers=headers, **kwargs)
        except BlockedRequest as exc:
            raise NodeFailure(str(exc)) from None
        except httpx.InvalidURL as exc:
            raise NodeFailure(f"Invalid URL {url!r}: {exc}") from None
        except httpx.HTTPError as exc:
            raise ProviderFailure(f"HTTP request to {url} failed: {exc.__class__.__name__}: {exc}") from None
        raw = response.content[:MAX_HTTP_BODY_BYTES]
        try:
            parsed = json_loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(response.encoding or "utf-8", errors="replace")
        return StepOutcome(output={"status": response.status_code, "headers": dict(response.headers),
                                   "body": parsed})


class KnowledgeSearchNode:
    """Searches the agent's knowledge base.  Agents have no documents until
    the knowledge base lands, so the rendered query finds nothing yet."""

    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        data = node["data"]
        query = render(data["query"], {**ctx.template_context(), "args": data.get("args", {})})
        return StepOutcome(output={"query": query, "results": []})


class SubagentNode:
    """Runs another agent the caller may run, inside this execution."""

    @staticmethod
    async def run(node, ctx: RunContext) -> StepOutcome:
        from executions.engine.runner import run_pipeline
        from executions.selectors import runnable_agent_definition

        data = node["data"]
        if ctx.depth >= MAX_SUBAGENT_DEPTH:
            raise NodeFailure(f"Subagents nest at most {MAX_SUBAGENT_DEPTH} deep.")
        try:
            child: AgentDefinition = await sync_to_async(runnable_agent_definition)(data["agent"], ctx.user_id)
        except LookupError as exc:
            raise NodeFailure(str(exc)) from None
        mapping = data.get("input")
        child_input = render_value(mapping, ctx.template_context()) if mapping is not None else ctx.input
        if not isinstance(child_input, dict):
            child_input = {"message": as_text(child_input)}
        child_ctx = RunContext(
            execution_id=ctx.execution_id, agent=child, input=child_input,
            env=await sync_to_async(_env_of)(child), recorder=ctx.recorder, user_id=ctx.user_id,
            stream_deltas=ctx.stream_deltas, depth=ctx.depth + 1,
            node_prefix=f"{ctx.node_prefix}{node['id']}/", llm_clients=ctx.llm_clients)
        output = await run_pipeline(child_ctx, child.pipeline)
        return StepOutcome(output=output)


def _env_of(definition: AgentDefinition) -> dict[str, str]:
    from executions.services.definitions import template_env

    return template_env(definition.config)


HANDLERS = {
    "input": InputNode, "output": OutputNode, "template": TemplateNode, "condition": ConditionNode,
    "llm_call": LlmCallNode, "agent": AgentNode, "http_request": HttpRequestNode,
    "knowledge_search": KnowledgeSearchNode, "subagent": SubagentNode,
}
TOOL_HANDLERS = {
    "http_request": HttpRequestNode, "knowledge_search": KnowledgeSearchNode, "subagent": SubagentNode,
    "template": TemplateNode, "llm_call": LlmCallNode,
}
