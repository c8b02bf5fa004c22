"""The SSRF guard: address policy, URL checks, and that a forbidden DNS
answer stops the connection before any socket is opened."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest

from ogi.net import guard
from ogi.net.errors import BlockedAddress, UnsupportedScheme
from ogi.net.guard import GuardedTransport, address_refusal, check_url


@pytest.mark.parametrize(
    ("address", "private_ok", "refused"),
    [
        ("8.8.8.8", False, None),
        ("2400:3200::1", False, None),
        ("127.0.0.1", False, "loopback address"),
        ("127.0.0.1", True, None),
        ("::1", False, "loopback address"),
        ("10.1.2.3", False, "private address"),
        ("10.1.2.3", True, None),
        ("192.168.0.1", False, "private address"),
        ("172.16.5.4", False, "private address"),
        ("100.64.0.1", False, "private address"),
        ("fd00::1", False, "private address"),
        ("169.254.169.254", False, "link-local address"),
        ("169.254.169.254", True, "link-local address"),  # never, even for local sources
        (
            "::ffff:169.254.169.254",
            True,
            "IPv4-mapped address carrying 169.254.169.254, a link-local address",
        ),
        ("fe80::1", True, "link-local address"),
        ("0.0.0.0", True, "unspecified address"),
        ("224.0.0.1", True, "multicast address"),
        ("240.0.0.1", False, "reserved address"),
        # IPv6 forms that carry an IPv4 address are judged by it (issue 8, row 12)
        ("2002:a00:1::1", False, "6to4 address carrying 10.0.0.1, a private address"),
        ("2002:7f00:1::", False, "6to4 address carrying 127.0.0.1, a loopback address"),
        ("2002:a9fe:a9fe::", True, "6to4 address carrying 169.254.169.254, a link-local address"),
        ("2002:808:808::1", False, None),  # 6to4 of 8.8.8.8
        ("64:ff9b::a9fe:a9fe", False, "NAT64 address carrying 169.254.169.254, a link-local address"),
        ("64:ff9b::c0a8:1", False, "NAT64 address carrying 192.168.0.1, a private address"),
        ("64:ff9b:1::a00:1", False, "NAT64 address carrying 10.0.0.1, a private address"),
        ("64:ff9b::808:808", False, None),  # DNS64 answer for a public site
        ("::ffff:10.1.2.3", False, "IPv4-mapped address carrying 10.1.2.3, a private address"),
        ("::ffff:7f00:1", False, "IPv4-mapped address carrying 127.0.0.1, a loopback address"),
        ("::10.0.0.1", False, "IPv4-compatible address carrying 10.0.0.1, a private address"),
        (
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
            False,
            "Teredo address carrying 10.0.0.1, a private address",
        ),
        (
            "2001:0:4136:e378:8000:63bf:5601:5656",
            True,
            "Teredo address carrying 169.254.169.169, a link-local address",
        ),
    ],
)
def test_address_policy(address: str, private_ok: bool, refused: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address), private_ok) == refused


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x.gov.cn/a.pdf", "gopher://x/", "//x.gov.cn/a"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(UnsupportedScheme):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://10.0.0.1/",
    ],
)
def test_literal_addresses_refused(url: str) -> None:
    with pytest.raises(BlockedAddress):
        check_url(url)


def test_names_pass_the_url_check_and_are_checked_on_resolution() -> None:
    assert check_url("https://www.pingtan.gov.cn/zwgk/") == "www.pingtan.gov.cn"


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and fail) every attempt to open a socket."""
    opened: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        opened.append(args)
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return opened


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers.get(host, [host])
        ]  # literal addresses resolve to themselves

    monkeypatch.setattr(guard.socket, "getaddrinfo", getaddrinfo)


def test_dns_answer_to_metadata_address_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, no_sockets: list[Any]
) -> None:
    _fake_dns(monkeypatch, {"reports.example.gov.cn": ["169.254.169.254"]})
    with (
        httpx.Client(transport=GuardedTransport(allow_private=True)) as client,
        pytest.raises(BlockedAddress, match=r"169\.254\.169\.254"),
    ):
        client.get("http://reports.example.gov.cn/nb/2023.pdf")
    assert no_sockets == []


def test_any_private_answer_refuses_the_host(monkeypatch: pytest.MonkeyPatch, no_sockets: list[Any]) -> None:
    _fake_dns(monkeypatch, {"mixed.example.gov.cn": ["1.1.1.1", "10.0.0.5"]})
    with (
        httpx.Client(transport=GuardedTransport()) as client,
        pytest.raises(BlockedAddress, match=r"10\.0\.0\.5"),
    ):
        client.get("http://mixed.example.gov.cn/")
    assert no_sockets == []


def test_connects_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend connects to the address it checked, not to a second
    lookup of the name (which could answer differently)."""
    _fake_dns(monkeypatch, {"local.test": ["127.0.0.1"]})
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    seen: list[Any] = []
    real = socket.create_connection

    def record(address: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", record)
    try:
        stream = guard.GuardedBackend(guard.AddressPolicy(allow_private=True)).connect_tcp(
            "local.test", port, timeout=2
        )
        stream.close()
    finally:
        server.close()
    assert seen == [("127.0.0.1", port)]


def test_explicit_networks_allow_only_themselves_and_never_metadata() -> None:
    policy = guard.AddressPolicy.from_networks("127.0.0.0/8, ::1")
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "private address"
    assert (
        guard.AddressPolicy.from_networks("169.254.0.0/16").refusal(ipaddress.ip_address("169.254.169.254"))
        == "link-local address"
    )
    with pytest.raises(ValueError, match="not a network"):
        guard.AddressPolicy.from_networks("127.0.0.0/8, localhost")


def test_dns_answer_in_6to4_form_is_refused(monkeypatch: pytest.MonkeyPatch, no_sockets: list[Any]) -> None:
    _fake_dns(monkeypatch, {"rebind.example.com": ["2002:a9fe:a9fe::1"]})
    with (
        httpx.Client(transport=GuardedTransport(allow_private=True)) as client,
        pytest.raises(BlockedAddress, match=r"6to4 address carrying 169\.254\.169\.254"),
    ):
        client.get("http://rebind.example.com/")
    assert no_sockets == []


def test_proxy_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy would hide the real destination from the guard."""
    from ogi.net import AddressPolicy, OutboundClient

    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    seen: list[httpx.Request] = []
    client = OutboundClient(
        AddressPolicy(),
        connect_timeout_s=1,
        read_timeout_s=1,
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204)),
    )
    assert client._client._mounts == {}
    with client.open("GET", "http://example.com/", timeout_s=5) as response:
        assert response.status_code == 204
    assert seen[0].url.host == "example.com"
