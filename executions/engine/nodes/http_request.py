"""``http_request``: an HTTP call through the private-address guard, redirects included."""

from __future__ import annotations

import httpx

from core.nesting import json_loads
from core.netguard import BlockedRequest, guarded_async_client
from executions.engine.context import NodeFailure, ProviderFailure, RunContext, StepOutcome
from executions.engine.nodes.base import Node
from executions.engine.templating import as_text, render, render_value

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_HTTP_BODY_BYTES = 1_000_000


class HttpRequestNode(Node):
    type = "http_request"
    required_data = {"url": str}
    template_keys = ("url", "headers", "body")
    tool = True
    connector_aliases = ("web-search", "http", "api", "webhook")

    @classmethod
    def data_problems(cls, data: dict):
        method = str(data.get("method", "GET")).upper()
        if method not in HTTP_METHODS:
            yield "method", f"Must be one of {', '.join(HTTP_METHODS)}."

    @classmethod
    async def run(cls, node: dict, ctx: RunContext) -> StepOutcome:
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
