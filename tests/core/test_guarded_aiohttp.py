"""Guarded aiohttp sessions (the LLM clients' HTTP): the network guard's rules
on every request and redirect hop, and on every address a name resolves to."""

import asyncio
import socket

import aiohttp
import pytest

from core.guarded_aiohttp import RefusedRequest, guarded_session, session_timeout
from core.netguard import BlockedAddress


@pytest.fixture(autouse=True)
def _nothing_allowed(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []


def fetch(*urls: str, **request_options) -> list[tuple[int, str, int]]:
    """GET each URL on one guarded session: (status, body, redirects followed) each."""
    async def run():
        answers = []
        async with guarded_session(timeout=5) as session:
            for url in urls:
                async with session.get(url, **request_options) as response:
                    answers.append((response.status, await response.text(), len(response.history)))
        return answers
    return asyncio.run(run())


def resolving_to(monkeypatch, name: str, address: str) -> list[str]:
    """Make ``name`` resolve to ``address``; returns the names looked up."""
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host != name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_session_reaches_an_allowed_server_and_follows_its_redirects(settings, local_server):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]

    assert fetch(f"{local_server}/to?url={local_server}/ok") == [(200, "ok", 1)]


def test_a_private_address_is_refused_before_connecting(local_server):
    with pytest.raises(RefusedRequest, match="127.0.0.1 is a private/loopback/link-local address") as caught:
        fetch(f"{local_server}/ok")

    assert isinstance(caught.value, aiohttp.ClientConnectionError)
    assert isinstance(caught.value.__cause__, BlockedAddress)  # what errors.transport_error looks for


@pytest.mark.parametrize("target", ["http://10.255.255.1/", "http://[::1]:9/", "http://169.254.169.254/"])
def test_a_redirect_to_a_private_address_is_refused(settings, local_server, target):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]

    with pytest.raises(RefusedRequest, match="AGENTRY_ALLOWED_PRIVATE_HOSTS"):
        fetch(f"{local_server}/ok", f"{local_server}/to?url={target}")


def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch, local_server):
    port = local_server.rsplit(":", 1)[1]
    asked = resolving_to(monkeypatch, "rebind.example", "127.0.0.1")

    with pytest.raises(RefusedRequest, match="rebind.example resolves to 127.0.0.1"):
        fetch(f"http://rebind.example:{port}/ok")

    assert asked == ["rebind.example"]  # one answer, vetted and connected to: nothing to rebind


def test_a_refused_answer_is_not_cached_for_the_next_request(settings, monkeypatch, local_server):
    port = local_server.rsplit(":", 1)[1]
    asked = resolving_to(monkeypatch, "rebind.example", "127.0.0.1")

    async def run():
        async with guarded_session(timeout=5) as session:
            for _attempt in range(2):
                with pytest.raises(RefusedRequest):
                    await session.get(f"http://rebind.example:{port}/ok")

    asyncio.run(run())

    assert asked == ["rebind.example", "rebind.example"]


@pytest.mark.parametrize("allowed", [["rebind.example"], ["127.0.0.0/8"]], ids=["by name", "by network"])
def test_a_private_answer_is_let_through_when_allowed(settings, monkeypatch, local_server, allowed):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = allowed
    resolving_to(monkeypatch, "rebind.example", "127.0.0.1")
    port = local_server.rsplit(":", 1)[1]

    assert fetch(f"http://rebind.example:{port}/ok") == [(200, "ok", 0)]


def test_a_name_that_does_not_resolve_is_a_connection_error_not_a_refusal(monkeypatch):
    resolving_to(monkeypatch, "somewhere-else.example", "127.0.0.1")

    with pytest.raises(aiohttp.ClientConnectorDNSError) as caught:
        fetch("http://nothing-here.invalid/")

    assert not isinstance(caught.value, RefusedRequest)


def test_redirects_are_not_followed_when_the_caller_says_so(settings, local_server):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]

    assert fetch(f"{local_server}/to?url=http://10.255.255.1/", allow_redirects=False) == [(302, "", 0)]


def test_one_timeout_bounds_the_connection_and_each_read_not_the_whole_exchange():
    timeout = session_timeout(7.5)

    assert (timeout.total, timeout.connect, timeout.sock_read) == (None, 7.5, 7.5)


@pytest.mark.parametrize("option", ["connector", "middlewares", "trust_env"])
def test_sessions_refuse_options_that_would_bypass_the_guard(option):
    with pytest.raises(TypeError, match=option):
        guarded_session(**{option: None})
