"""LLM clients kept between runs, one set per event loop.

A client made for one run and closed after it costs every run a new
connection pool, a TCP (and TLS) handshake with the provider and its
teardown: several milliseconds, more than the rest of what a run adds.  Runs
on the same loop (the web server's, the chat turn loop, a worker's) share
one client per provider instead, keyed by everything the client is made from,
so a changed key or URL gets a new one.  An httpx client serves concurrent
requests, so runs on one loop share it safely.

A client is bound to its loop: each loop's clients are closed when that loop
ends (``asyncio.run`` and asgiref cancel the tasks left on a loop they close,
the keeper task among them), so a loop made for one call leaves nothing open.
"""

from __future__ import annotations

import asyncio
import logging

from executions.llm.base import LLMClient, ProviderSettings
from executions.llm.clients import client_for

logger = logging.getLogger("agentry.executions")


class _LoopClients:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.clients: dict[tuple, LLMClient] = {}
        self.keeper = loop.create_task(self._keep(loop), name="llm-client-pool")

    async def _keep(self, loop) -> None:
        try:
            await asyncio.Event().wait()  # until the loop is shut down
        finally:
            _pools.pop(loop, None)
            while self.clients:
                _key, client = self.clients.popitem()
                try:
                    await client.aclose()
                except Exception:  # closing is best effort at shutdown
                    logger.debug("Closing a pooled LLM client failed", exc_info=True)


_pools: dict[asyncio.AbstractEventLoop, _LoopClients] = {}  # an entry leaves with its loop (the keeper's finally)


def shared_client(settings: ProviderSettings) -> LLMClient:
    """The running loop's client for ``settings`` (made on first use); never
    close it: the loop's end does."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _LoopClients(loop)
    key = (settings.kind, settings.name, settings.base_url, settings.api_key, settings.timeout_seconds)
    client = pool.clients.get(key)
    if client is None:
        client = pool.clients[key] = client_for(settings)
    return client
