"""aiohttp sessions under the private-address guard's rules (``core.netguard``).

A run's model calls are most of what it sends over the network, and aiohttp
sends a request for about a quarter of httpx's CPU (docs/PERFORMANCE.md,
eleventh pass), so the OpenAI-wire client speaks aiohttp (the Anthropic SDK
needs its httpx client).  A :func:`guarded_session` vets the
same way the guard's httpx clients do:

- every request, each redirect hop included, passes a client middleware that
  refuses a URL whose scheme is not http(s) or whose host is a private IP
  literal (aiohttp connects to an IP literal without asking a resolver);
- a host name is resolved by :class:`GuardedResolver`, which hands the
  connector only addresses it vetted, so the connection goes to exactly what
  was checked: a DNS answer that changes in between (DNS rebinding) cannot
  slip through.  The connector's DNS cache holds vetted answers only.

A refusal is a :class:`RefusedRequest` (an ``aiohttp.ClientConnectionError``
chained to the guard's ``BlockedAddress``).  Environment proxies are not used.
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from core.netguard import UnsafeUrl, check_url_before_dns, default_ssl_context, host_allowed_by_name, vet

__all__ = ["GuardedResolver", "RefusedRequest", "guarded_session", "session_timeout"]


class RefusedRequest(aiohttp.ClientConnectionError):
    """A guarded session refused to send a request to a non-public address.
    Not worth retrying: the answer would be the same."""


class GuardedResolver(AbstractResolver):
    """Resolves with the system's resolver (on a thread), then lets only
    public or allowed addresses through; otherwise ``BlockedAddress``."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not host_allowed_by_name(host):
            vet(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._inner.close()


async def _vet_request(request: aiohttp.ClientRequest, handler) -> aiohttp.ClientResponse:
    """Client middleware: refuse the URL before connecting (literal addresses,
    schemes), and turn the resolver's refusal into a ``RefusedRequest``."""
    try:
        check_url_before_dns(str(request.url))
        return await handler(request)
    except UnsafeUrl as exc:
        raise RefusedRequest(str(exc)) from exc


def session_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """httpx's meaning of one timeout: for connecting (a free connection from
    the pool included) and for each read, not for the whole exchange, so a
    stream may last as long as its chunks keep coming."""
    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)


def guarded_session(timeout: float = 60.0, **kwargs) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` that refuses non-public addresses with
    :class:`RefusedRequest`.  Make it on the event loop that will use it;
    other keyword arguments go to the session (``headers`` …)."""
    for refused in ("connector", "middlewares", "trust_env"):
        if refused in kwargs:
            raise TypeError(f"Guarded sessions choose their own {refused}; it is not accepted.")
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(), ssl=default_ssl_context())
    return aiohttp.ClientSession(connector=connector, timeout=session_timeout(timeout), middlewares=(_vet_request,),
                                 trust_env=False, **kwargs)
