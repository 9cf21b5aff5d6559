"""The private-address guard: which URLs may be fetched, and guarded clients
that check every request and every redirect hop they follow."""

import asyncio
import socket

import httpx
import pytest

from core.netguard import (
    BlockedAddress,
    BlockedRequest,
    UnresolvableHost,
    UnsafeUrl,
    acheck_url,
    check_url,
    guarded_async_client,
    guarded_client,
)


@pytest.fixture(autouse=True)
def _nothing_allowed(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/",
    "http://127.1.2.3:8080/v1",
    "http://10.0.0.5/v1",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "https://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://224.0.0.1/",
    "http://[::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 for 169.254.169.254
])
def test_private_addresses_are_refused(url):
    with pytest.raises(BlockedAddress, match="AGENTRY_ALLOWED_PRIVATE_HOSTS"):
        check_url(url)


@pytest.mark.parametrize("url", [
    "http://93.184.216.34/",
    "https://93.184.216.34:8443/v1",
    "http://[2606:2800:220:1:248:1893:25c8:1946]/",
    "http://[::ffff:93.184.216.34]/",
    "http://100.128.0.1/",  # just past carrier-grade NAT
])
def test_public_literal_addresses_pass_without_dns(url, monkeypatch):
    def no_dns(*args, **kwargs):
        raise AssertionError("literal IPs need no DNS")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    check_url(url)


@pytest.mark.parametrize("url,message", [
    ("ftp://93.184.216.34/", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("gopher://127.0.0.1:70/", "Only http and https"),
    ("93.184.216.34/v1", "Only http and https"),
    ("http:///v1", "no host"),
    ("http://[::1/", "Not a valid URL"),
    ("http://93.184.216.34:99999/", "Not a valid URL"),
])
def test_bad_urls_are_refused(url, message):
    with pytest.raises(UnsafeUrl, match=message):
        check_url(url)


def test_name_that_resolves_to_loopback_is_refused():
    with pytest.raises(BlockedAddress) as caught:
        check_url("http://localhost:8000/v1")
    assert str(caught.value).startswith("localhost resolves to 127.0.0.1, a private/loopback/link-local address")


def test_every_resolved_address_must_be_public(monkeypatch):
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
               (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(BlockedAddress, match="mixed.example resolves to 10.1.2.3"):
        check_url("http://mixed.example/")


def test_unresolvable_host_is_refused():
    with pytest.raises(UnresolvableHost, match="nothing-here.invalid does not resolve"):
        check_url("http://nothing-here.invalid/")


def test_allowed_by_hostname(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["LocalHost"]
    check_url("http://localhost:8000/v1")
    check_url("http://localhost.:8000/v1")
    with pytest.raises(BlockedAddress):
        check_url("http://127.0.0.1:8000/v1")  # the name is allowed, not what it resolves to


def test_allowed_by_ip(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "::1"]
    check_url("http://127.0.0.1:1234/v1")
    check_url("http://[::1]:1234/")
    check_url("http://localhost:1234/")  # resolves to an allowed address
    with pytest.raises(BlockedAddress):
        check_url("http://127.0.0.2/")


def test_allowed_by_cidr(settings):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["10.0.0.0/8", "fd00::/8"]
    check_url("http://10.20.30.40/v1")
    check_url("http://[fd00::5]/")
    check_url("http://[::ffff:10.0.0.1]/")
    with pytest.raises(BlockedAddress):
        check_url("http://192.168.0.1/")


def test_async_check_matches_sync(settings):
    asyncio.run(acheck_url("http://93.184.216.34/"))
    with pytest.raises(BlockedAddress):
        asyncio.run(acheck_url("http://localhost/"))
    with pytest.raises(UnresolvableHost):
        asyncio.run(acheck_url("http://nothing-here.invalid/"))
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    asyncio.run(acheck_url("http://localhost/"))


# --- guarded clients against a real local server ----------------------------------


def test_guarded_client_reaches_an_allowed_server(settings, local_server):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with guarded_client(follow_redirects=True) as client:
        response = client.get(f"{local_server}/to?url={local_server}/ok")
    assert response.status_code == 200 and response.text == "ok"
    assert len(response.history) == 1


def test_guarded_client_refuses_a_private_server(local_server):
    with guarded_client() as client, pytest.raises(BlockedRequest, match="127.0.0.1 is a private"):
        client.get(f"{local_server}/ok")


@pytest.mark.parametrize("target", ["http://10.255.255.1/", "http://[::1]:9/", "http://169.254.169.254/"])
def test_redirect_to_a_private_address_is_refused(settings, local_server, target):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with guarded_client(follow_redirects=True) as client, pytest.raises(BlockedRequest) as caught:
        client.get(f"{local_server}/to?url={target}")
    assert "AGENTRY_ALLOWED_PRIVATE_HOSTS" in str(caught.value)
    assert str(caught.value.request.url) == target


@pytest.mark.parametrize("target", ["http://10.255.255.1/", "http://[::1]:9/"])
def test_async_redirect_to_a_private_address_is_refused(settings, local_server, target):
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]

    async def fetch():
        async with guarded_async_client(follow_redirects=True) as client:
            ok = await client.get(f"{local_server}/ok")
            assert ok.status_code == 200
            await client.get(f"{local_server}/to?url={target}")

    with pytest.raises(BlockedRequest, match="private/loopback/link-local"):
        asyncio.run(fetch())


def test_blocked_request_is_a_transport_error(local_server):
    async def fetch():
        async with guarded_async_client() as client:
            await client.get(f"{local_server}/ok")

    with pytest.raises(httpx.TransportError):
        asyncio.run(fetch())


def test_unresolvable_host_is_a_connect_error():
    with guarded_client() as client, pytest.raises(httpx.ConnectError, match="does not resolve"):
        client.get("http://nothing-here.invalid/")


def test_dns_answer_that_changes_after_the_check_is_refused(monkeypatch, local_server):
    """DNS rebinding: the name passes the URL check, then resolves to loopback
    when the connection is made.  The client connects only to what it vetted."""
    port = int(local_server.rsplit(":", 1)[1])
    answers = iter([("93.184.216.34", port), ("127.0.0.1", port)])

    def rebinding(host, *args, **kwargs):
        assert host == "rebind.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", next(answers))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with guarded_client() as client, pytest.raises(BlockedRequest, match="rebind.example resolves to 127.0.0.1"):
        client.get(f"http://rebind.example:{port}/ok")


def test_async_dns_rebinding_is_refused(monkeypatch, local_server):
    port = int(local_server.rsplit(":", 1)[1])
    answers = iter([("93.184.216.34", port), ("127.0.0.1", port)])
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", next(answers))])

    async def fetch():
        async with guarded_async_client() as client:
            await client.get(f"http://rebind.example:{port}/ok")

    with pytest.raises(BlockedRequest, match="rebind.example resolves to 127.0.0.1"):
        asyncio.run(fetch())


def test_clients_refuse_their_own_transport():
    with pytest.raises(TypeError):
        guarded_client(transport=httpx.HTTPTransport())
    with pytest.raises(TypeError):
        guarded_async_client(proxy="http://proxy.example:3128")
