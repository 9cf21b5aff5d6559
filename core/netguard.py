"""The private-address guard: outbound HTTP that a user can aim (provider
base URLs, ``http_request`` nodes, redirects they follow) must not reach the
server's own network — loopback, RFC 1918, link-local (cloud metadata at
169.254.169.254), carrier-grade NAT and the like — unless the operator allows
it with ``AGENTRY_ALLOWED_PRIVATE_HOSTS`` (hostnames, IPs or CIDRs).

:func:`check_url` / :func:`acheck_url` vet a URL before it is stored or used.
:func:`guarded_async_client` / :func:`guarded_client` return httpx clients
that vet every request (so every redirect hop too) and then connect only to
the addresses they vetted, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot slip through.
``core.guarded_aiohttp`` applies the same rules to aiohttp sessions (the
OpenAI-wire LLM client's).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not covered by the ``is_*`` flags of every Python version.
_ALSO_BLOCKED = (
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (RFC 6598)
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the low 32 bits are an IPv4 address
_SCHEMES = ("http", "https")
_ALLOW_HINT = "allow it with AGENTRY_ALLOWED_PRIVATE_HOSTS"


class UnsafeUrl(ValueError):
    """The URL may not be fetched (bad scheme, no host, or one of the subclasses)."""


class BlockedAddress(UnsafeUrl):
    """The host is, or resolves to, a non-public address that is not allowed."""


class UnresolvableHost(UnsafeUrl):
    """The host does not resolve, so it cannot be vetted."""


class BlockedRequest(httpx.TransportError):
    """A guarded client refused to send a request (or follow a redirect) to a
    non-public address.  Not worth retrying: the answer will be the same."""


# --- the rules ------------------------------------------------------------------

def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is an ordinary internet address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_public(embedded)
    if (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified):
        return False
    return not any(ip in network for network in _ALSO_BLOCKED)


def _allowed() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """The operator's allow list, split into hostnames and networks."""
    return _parse_allowed(tuple(getattr(settings, "AGENTRY_ALLOWED_PRIVATE_HOSTS", None) or ()))


@functools.lru_cache(maxsize=8)
def _parse_allowed(entries: tuple[str, ...]) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """Parsed once per distinct setting (it is read on every request)."""
    names, networks = set(), []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(_normal_host(entry))
    return names, networks


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def host_allowed_by_name(host: str) -> bool:
    return _normal_host(host) in _allowed()[0]


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def vet(host: str, addresses: list[str]) -> list[str]:
    """``addresses`` if every one is public or allowed; else ``BlockedAddress``."""
    networks = _allowed()[1]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        candidates = [ip] + ([embedded] if (embedded := _embedded_ipv4(ip)) else [])
        if is_public(ip) or any(c in network for c in candidates for network in networks):
            continue
        where = f"{host} is" if host == address else f"{host} resolves to {address},"
        raise BlockedAddress(f"{where} a private/loopback/link-local address; {_ALLOW_HINT}.")
    return addresses


def _target(url: str) -> tuple[str, int]:
    """The host and port a URL points at, after checking its scheme."""
    if not isinstance(url, str):
        raise UnsafeUrl("The URL must be a string.")
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Not a valid URL: {exc}.") from exc
    if parts.scheme.lower() not in _SCHEMES:
        raise UnsafeUrl("Only http and https URLs are allowed.")
    if not host:
        raise UnsafeUrl("The URL has no host.")
    return host, port or (443 if parts.scheme.lower() == "https" else 80)


def _addresses(infos) -> list[str]:
    return list(dict.fromkeys(info[4][0] for info in infos))  # unique, in resolver order


def _unresolvable(host: str, exc: Exception | None = None) -> UnresolvableHost:
    reason = f": {exc.strerror or exc}" if isinstance(exc, OSError) else ""
    return UnresolvableHost(f"{host} does not resolve{reason}; cannot check that it is a public address.")


def _resolve(host: str, port: int) -> list[str]:
    if _literal_ip(host) is not None:
        return [host]
    try:
        addresses = _addresses(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError, ValueError) as exc:
        raise _unresolvable(host, exc) from exc
    if not addresses:
        raise _unresolvable(host)
    return addresses


async def _aresolve(host: str, port: int) -> list[str]:
    if _literal_ip(host) is not None:
        return [host]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise _unresolvable(host, exc) from exc
    addresses = _addresses(infos)
    if not addresses:
        raise _unresolvable(host)
    return addresses


def check_url(url: str) -> None:
    """Raise ``UnsafeUrl`` (``BlockedAddress``, ``UnresolvableHost``) unless
    ``url`` is http(s) and its host is public or allowed.  Resolves names
    with blocking DNS; use :func:`acheck_url` in async code."""
    host, port = _target(url)
    if not host_allowed_by_name(host):
        vet(host, _resolve(host, port))


def check_url_before_dns(url: str) -> None:
    """What :func:`check_url` can tell without resolving a name: the scheme,
    and the host when it is an IP address.  A client that vets the addresses
    a name resolves to as it connects (``core.guarded_aiohttp``) checks a URL
    with this."""
    host, _port = _target(url)
    if _literal_ip(host) is not None and not host_allowed_by_name(host):
        vet(host, [host])


async def acheck_url(url: str) -> None:
    """:func:`check_url` without blocking the event loop."""
    host, port = _target(url)
    if not host_allowed_by_name(host):
        vet(host, await _aresolve(host, port))


# --- guarded httpx clients -----------------------------------------------------------

def _blocked(exc: UnsafeUrl, request: httpx.Request | None = None) -> httpx.TransportError:
    if isinstance(exc, UnresolvableHost):
        return httpx.ConnectError(str(exc), request=request)
    return BlockedRequest(str(exc), request=request)


class _PinnedAsyncBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets, and connects to a vetted address — one DNS answer for both."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend):
        self._inner = inner

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host_allowed_by_name(host):
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = vet(host, await _aresolve(host, port))
        except UnsafeUrl as exc:
            raise _blocked(exc) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("Guarded clients do not connect to Unix sockets.")

    async def sleep(self, seconds):
        await self._inner.sleep(seconds)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host_allowed_by_name(host):
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = vet(host, _resolve(host, port))
        except UnsafeUrl as exc:
            raise _blocked(exc) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("Guarded clients do not connect to Unix sockets.")

    def sleep(self, seconds):
        self._inner.sleep(seconds)


class GuardedAsyncTransport(httpx.AsyncHTTPTransport):
    """Vets every request's URL, then connects only to vetted addresses."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # httpx offers no public hook for the connection pool's network backend.
        self._pool._network_backend = _PinnedAsyncBackend(self._pool._network_backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            await acheck_url(str(request.url))
        except UnsafeUrl as exc:
            raise _blocked(exc, request) from exc
        return await super().handle_async_request(request)


class GuardedTransport(httpx.HTTPTransport):
    """The sync twin of :class:`GuardedAsyncTransport`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pool._network_backend = _PinnedBackend(self._pool._network_backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            check_url(str(request.url))
        except UnsafeUrl as exc:
            raise _blocked(exc, request) from exc
        return super().handle_request(request)


# Client options that only take effect on the transport once one is given.
_TRANSPORT_OPTIONS = ("verify", "cert", "trust_env", "http1", "http2", "limits")


def _split_options(kwargs: dict) -> dict:
    for refused in ("transport", "mounts", "proxy"):
        if refused in kwargs:
            raise TypeError(f"Guarded clients choose their own transport; {refused!r} is not accepted.")
    options = {name: kwargs.pop(name) for name in _TRANSPORT_OPTIONS if name in kwargs}
    options.setdefault("verify", default_ssl_context())
    return options


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle takes ~45 ms; every client of the process shares one context."""
    return httpx.create_ssl_context()


def guarded_async_client(timeout: float = 60.0, **kwargs) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that refuses non-public addresses (redirect
    hops included) with :class:`BlockedRequest`.  Other keyword arguments go
    to the client (``follow_redirects``, ``headers`` …) or its transport
    (``verify``, ``http2``, ``limits`` …).  Environment proxies are not used."""
    transport = GuardedAsyncTransport(**_split_options(kwargs))
    return httpx.AsyncClient(timeout=timeout, transport=transport, **kwargs)


def guarded_client(timeout: float = 60.0, **kwargs) -> httpx.Client:
    """The sync twin of :func:`guarded_async_client`."""
    transport = GuardedTransport(**_split_options(kwargs))
    return httpx.Client(timeout=timeout, transport=transport, **kwargs)
