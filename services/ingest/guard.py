"""SSRF guard: which addresses a fetch may connect to.

The check runs where the connection is made, not on the URL alone: a
custom httpcore network backend resolves the host itself, refuses the
connection if *any* answer is disallowed, and then connects to the
checked address (so a DNS answer that changes between check and connect
cannot slip through). Every redirect hop is a new request and goes through
the same backend, and the fetcher also checks literal-IP URLs before it
sends anything (robots.txt included). Proxies from the environment are
ignored (``trust_env=False``): through a proxy we could not see the
address.

Policy:

- link-local (169.254.0.0/16 — cloud metadata — and fe80::/10), multicast,
  unspecified (0.0.0.0, ::) and reserved addresses: always refused;
- loopback, RFC 1918 / unique-local, CGNAT and other non-global addresses:
  refused unless the source sets ``allow_private`` (local test and sample
  sites);
- everything else (globally routable): allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from services.ingest.errors import BlockedAddress, UnsupportedScheme

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_refusal(ip: IPAddress, allow_private: bool = False) -> str | None:
    """Why ``ip`` may not be reached, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "link-local address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_loopback:
        return None if allow_private else "loopback address"
    if ip.is_reserved:
        return "reserved address"
    if not ip.is_global:
        return None if allow_private else "private address"
    return None


def check_url(url: str, allow_private: bool = False) -> str:
    """Refuse non-http(s) URLs and literal addresses the policy forbids;
    returns the host. Host names are checked when they are resolved."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsupportedScheme(f"scheme {parts.scheme or '(none)'!r} is not fetched", url=url)
    host = parts.hostname
    if not host:
        raise UnsupportedScheme("URL has no host", url=url)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    reason = address_refusal(ip, allow_private)
    if reason:
        raise BlockedAddress(f"{host} is a {reason}", url=url)
    return host


def resolve_checked(host: str, port: int, allow_private: bool) -> list[str]:
    """Resolve ``host`` and check every answer; returns the addresses."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = address_refusal(ipaddress.ip_address(address.split("%")[0]), allow_private)
        if reason:
            raise BlockedAddress(f"{host} resolves to {address}, a {reason}")
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but every connection goes to an address
    that passed :func:`address_refusal` (TLS still verifies the host name)."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in resolve_checked(host, port, self.allow_private):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through :class:`GuardedBackend`."""

    def __init__(self, *, allow_private: bool = False, max_connections: int = 100) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(allow_private),
        )
