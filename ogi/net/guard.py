"""SSRF guard: which addresses an outbound request may connect to, and a
wall-clock deadline every socket operation honours.

The check runs where the connection is made, not on the URL alone: a
custom httpcore network backend resolves the host itself, refuses the
connection if *any* answer is disallowed, and then connects to the
checked address (so a DNS answer that changes between check and connect
cannot slip through). Every redirect hop is a new request and goes through
the same backend; literal-IP URLs are also checked before anything is sent.
Proxies from the environment are ignored (``trust_env=False``): through a
proxy we could not see the address.

Policy (:class:`AddressPolicy`):

- link-local (169.254.0.0/16 — cloud metadata — and fe80::/10), multicast,
  unspecified (0.0.0.0, ::) and reserved addresses: always refused;
- loopback, RFC 1918 / unique-local, CGNAT and other non-global addresses:
  refused unless the policy allows private addresses (a registry source's
  ``allow_private``: local test and sample sites) or the address is in one
  of its explicitly allowed networks (``OGI_DELIVER_ALLOW_PRIVATE_NETWORKS``
  for a webhook receiver on the same host);
- IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
  IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``,
  6to4 ``2002::/16``, Teredo ``2001::/32``) are judged by the IPv4 address
  they carry (tunnels also by their own address), so ``2002:a00:1::`` is 10.0.0.1;
- everything else (globally routable): allowed.

The deadline: :func:`deadline` sets, for the current thread's context, the
monotonic time by which the whole request must be done. Every connect,
read and write of a guarded stream is bounded by the time left, so a server
that drips one byte just inside the read timeout cannot hold a request (and
the per-host slot it occupies) past the deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ogi.net.errors import BlockedAddress, InvalidURL, UnsupportedScheme

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: longest URL we request (servers commonly stop at 8 KB; a hostile page may link 200 KB ones)
MAX_URL_CHARS = 8192

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the form's name, or None."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]  # the client's (de-obfuscated) address is where packets go
    if any(ip in net for net in _NAT64):
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # not :: or ::1
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which destination addresses are allowed (see the module doc)."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_networks(cls, networks: str) -> AddressPolicy:
        """``"127.0.0.0/8, ::1"``: private addresses allowed only inside these networks."""
        return cls(allowed_networks=parse_networks(networks))

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be reached, or None if it may."""
        if isinstance(ip, ipaddress.IPv6Address):
            carried = embedded_ipv4(ip)
            if carried is not None:
                form, inner = carried
                reason = self.refusal(inner)
                if reason:
                    return f"{form} address carrying {inner}, a {reason}"
                if form in ("IPv4-mapped", "NAT64", "IPv4-compatible"):
                    return None  # a translation of an allowed IPv4 address
        if ip.is_link_local:
            return "link-local address"
        if ip.is_unspecified:
            return "unspecified address"
        if ip.is_multicast:
            return "multicast address"
        if ip.is_loopback:
            return None if self._allowed(ip) else "loopback address"
        if ip.is_reserved:
            return "reserved address"
        if not ip.is_global:
            return None if self._allowed(ip) else "private address"
        return None

    def _allowed(self, ip: IPAddress) -> bool:
        return self.allow_private or any(
            ip in net for net in self.allowed_networks if net.version == ip.version
        )


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1"`` -> networks; ValueError names a bad entry."""
    out = []
    for item in (v.strip() for v in value.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {item!r} ({exc})") from exc
    return tuple(out)


def address_refusal(ip: IPAddress, allow_private: bool = False) -> str | None:
    """Why ``ip`` may not be reached under the default policy (or with
    private addresses allowed), or None if it may."""
    return AddressPolicy(allow_private=allow_private).refusal(ip)


def _as_policy(policy: AddressPolicy | bool) -> AddressPolicy:
    return policy if isinstance(policy, AddressPolicy) else AddressPolicy(allow_private=policy)


def check_url(url: str, policy: AddressPolicy | bool = False) -> str:
    """Refuse non-http(s), unparseable or overlong URLs and literal addresses
    the policy forbids; returns the host. Host names are checked when they
    are resolved."""
    if len(url) > MAX_URL_CHARS:
        raise InvalidURL(f"URL of {len(url)} characters is longer than {MAX_URL_CHARS}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise InvalidURL(f"URL cannot be parsed: {exc}") from exc
    if any(c in url for c in "\r\n\t\x00"):
        raise InvalidURL("URL contains control characters")
    if parts.scheme not in ("http", "https"):
        raise UnsupportedScheme(f"scheme {parts.scheme or '(none)'!r} is not fetched")
    if not host:
        raise UnsupportedScheme("URL has no host")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    reason = _as_policy(policy).refusal(ip)
    if reason:
        raise BlockedAddress(f"{host} is a {reason}")
    return host


def resolve_checked(host: str, port: int, policy: AddressPolicy | bool = False) -> list[str]:
    """Resolve ``host`` and check every answer; returns the addresses."""
    policy = _as_policy(policy)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = policy.refusal(ipaddress.ip_address(address.split("%")[0]))
        if reason:
            raise BlockedAddress(f"{host} resolves to {address}, a {reason}")
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses


# -- the deadline ------------------------------------------------------------

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("ogi_net_deadline", default=None)


@contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Every guarded socket operation inside the block ends by monotonic
    time ``at`` (None: no deadline)."""
    token = _DEADLINE.set(None if at is None else (at, max(0.0, at - time.monotonic())))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _bounded(timeout: float | None, error: type[Exception], doing: str) -> float | None:
    """``timeout`` shortened to the time left before the deadline."""
    current = _DEADLINE.get()
    if current is None:
        return timeout
    at, total = current
    left = at - time.monotonic()
    if left <= 0:
        raise error(f"the {total:.1f}s deadline passed {doing}")
    return left if timeout is None else min(timeout, left)


def _deadline_passed() -> tuple[bool, float]:
    current = _DEADLINE.get()
    return (current is not None and time.monotonic() >= current[0]), (current[1] if current else 0.0)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation is bounded by :func:`deadline`."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._stream.read(
                max_bytes, _bounded(timeout, httpcore.ReadTimeout, "while waiting for data")
            )
        except httpcore.ReadTimeout as exc:
            passed, total = _deadline_passed()
            if passed:
                raise httpcore.ReadTimeout(
                    f"the {total:.1f}s deadline passed while waiting for data"
                ) from exc
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout, "while sending"))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout, "during the TLS handshake")
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but every connection goes to an address
    that passed the policy (TLS still verifies the host name), and every
    stream honours the :func:`deadline`."""

    def __init__(self, policy: AddressPolicy | bool = False) -> None:
        self.policy = _as_policy(policy)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in resolve_checked(host, port, self.policy):
            bounded = _bounded(timeout, httpcore.ConnectTimeout, "while connecting")
            try:
                return DeadlineStream(
                    super().connect_tcp(address, port, bounded, local_address, socket_options)
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are not an outbound destination")


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through :class:`GuardedBackend`."""

    def __init__(
        self,
        policy: AddressPolicy | bool = False,
        *,
        allow_private: bool | None = None,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        if allow_private is not None:
            policy = AddressPolicy(allow_private=allow_private)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(policy),
        )
