"""The fetch pipeline on an in-memory transport: redirects (each hop
checked), robots, retries, conditional requests, the streaming size cap."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import structlog

from ogi.settings import Settings
from services.ingest.errors import (
    BadEncoding,
    BlockedAddress,
    HttpStatus,
    RobotsDisallowed,
    RobotsUnavailable,
    TooLarge,
    TooManyRedirects,
    TransportFailure,
    UnsupportedScheme,
)
from services.ingest.fetch import Fetcher, content_disposition_filename

from .wire import wire_transport

Handler = Callable[[httpx.Request], httpx.Response]


def settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "kafka_bootstrap": "127.0.0.1:1",
        "es_url": "http://127.0.0.1:1",
        "ingest_host_delay_s": 0,
        "ingest_backoff_base_s": 0.001,
        "ingest_backoff_max_s": 0.01,
        "ingest_retries": 2,
        "max_document_bytes": 1000,
        "ingest_max_redirects": 3,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


class Site:
    """Routes by path; records every request it receives."""

    def __init__(
        self, routes: dict[str, Handler | httpx.Response], robots: str = "User-agent: *\nAllow: /\n"
    ):
        self.routes: dict[str, Handler | httpx.Response] = {"/robots.txt": httpx.Response(200, text=robots)}
        self.routes.update(routes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        if route is None:
            return httpx.Response(404)
        return route(request) if callable(route) else route

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def fetcher(site: Site, **overrides: object) -> Fetcher:
    return Fetcher(settings(**overrides), transport=wire_transport(site))


def test_plain_fetch_sends_our_user_agent() -> None:
    site = Site({"/a.pdf": httpx.Response(200, content=b"%PDF-1.4 x")})
    got = fetcher(site).fetch("http://site.test/a.pdf")
    assert got.content == b"%PDF-1.4 x" and got.content_type == "application/pdf"
    assert all(r.headers["user-agent"].startswith("ogi-monitor/") for r in site.requests)


def test_redirect_to_metadata_address_refused_before_any_request() -> None:
    site = Site({"/r": httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})})
    with pytest.raises(BlockedAddress) as info:
        fetcher(site).fetch("http://site.test/r", allow_private=True)
    assert info.value.url == "http://169.254.169.254/latest/meta-data/"
    assert all(r.url.host == "site.test" for r in site.requests)


def test_redirect_to_another_scheme_refused() -> None:
    site = Site({"/r": httpx.Response(301, headers={"Location": "file:///etc/passwd"})})
    with pytest.raises(UnsupportedScheme):
        fetcher(site).fetch("http://site.test/r")


def test_redirects_followed_up_to_the_limit() -> None:
    site = Site({f"/r{n}": httpx.Response(302, headers={"Location": f"/r{n + 1}"}) for n in range(10)})
    site.routes["/r2"] = httpx.Response(302, headers={"Location": "/doc.pdf"})
    site.routes["/doc.pdf"] = httpx.Response(200, content=b"%PDF-1.4")
    got = fetcher(site).fetch("http://site.test/r0")
    assert got.final_url == "http://site.test/doc.pdf" and got.redirects == 3
    with pytest.raises(TooManyRedirects):
        fetcher(site).fetch("http://site.test/r5")


def test_robots_disallowed_path_is_never_requested() -> None:
    site = Site(
        {"/private/a.pdf": httpx.Response(200, content=b"%PDF")},
        robots="User-agent: *\nDisallow: /private/\n",
    )
    f = fetcher(site)
    with pytest.raises(RobotsDisallowed):
        f.fetch("http://site.test/private/a.pdf")
    assert site.paths() == ["/robots.txt"]


def test_robots_for_our_agent() -> None:
    site = Site(
        {"/a": httpx.Response(200, text="ok")},
        robots="User-agent: ogi-monitor\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
    )
    with pytest.raises(RobotsDisallowed):
        fetcher(site).fetch("http://site.test/a")


def test_robots_unreachable_disallows_and_missing_allows() -> None:
    site = Site({"/a": httpx.Response(200, text="ok")})
    site.routes["/robots.txt"] = httpx.Response(503)
    with pytest.raises(RobotsUnavailable, match="503"):
        fetcher(site, ingest_retries=0).fetch("http://site.test/a")
    assert "/a" not in site.paths()
    site.routes["/robots.txt"] = httpx.Response(404)
    assert fetcher(site).fetch("http://site.test/a").content == b"ok"


def test_robots_read_once_per_origin() -> None:
    site = Site({"/a": httpx.Response(200, text="a"), "/b": httpx.Response(200, text="b")})
    f = fetcher(site)
    f.fetch("http://site.test/a")
    f.fetch("http://site.test/b")
    assert site.paths().count("/robots.txt") == 1


def test_500_then_200_is_retried() -> None:
    answers = iter([httpx.Response(500), httpx.Response(503), httpx.Response(200, text="ok")])
    site = Site({"/flaky": lambda r: next(answers)})
    with structlog.testing.capture_logs() as logs:
        got = fetcher(site).fetch("http://site.test/flaky")
    assert got.content == b"ok" and site.paths().count("/flaky") == 3
    events = [e for e in logs if e["event"] == "fetch" and e["url"].endswith("/flaky")]
    assert len(events) == 1  # one event per fetch, retries inside it
    assert events[0]["attempts"] == 3 and events[0]["outcome"] == "ok"
    assert [r.split(" (")[0] for r in events[0]["retries"]] == ["HTTP 500", "HTTP 503"]


def test_429_honours_retry_after_and_gives_up_after_the_retries() -> None:
    site = Site({"/busy": httpx.Response(429, headers={"Retry-After": "0"})})
    with pytest.raises(HttpStatus) as info:
        fetcher(site, ingest_retries=2).fetch("http://site.test/busy")
    assert info.value.status == 429 and site.paths().count("/busy") == 3


def test_timeouts_are_retried_then_reported() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    site = Site({"/slow": slow})
    with pytest.raises(TransportFailure, match="ReadTimeout"):
        fetcher(site).fetch("http://site.test/slow")
    assert site.paths().count("/slow") == 3


def test_404_is_not_retried() -> None:
    site = Site({})
    with pytest.raises(HttpStatus):
        fetcher(site).fetch("http://site.test/missing")
    assert site.paths().count("/missing") == 1


def test_conditional_request_and_304() -> None:
    def page(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(
            200, text="body", headers={"ETag": '"v1"', "Last-Modified": "Mon, 15 Jan 2024 00:00:00 GMT"}
        )

    site = Site({"/p": page})
    f = fetcher(site)
    first = f.fetch("http://site.test/p")
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Mon, 15 Jan 2024 00:00:00 GMT")
    again = f.fetch("http://site.test/p", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.content == b""
    assert site.requests[-1].headers["if-modified-since"] == "Mon, 15 Jan 2024 00:00:00 GMT"


def test_declared_oversize_refused_from_the_header() -> None:
    site = Site({"/big.pdf": httpx.Response(200, content=b"%PDF" + b"x" * 2000)})
    with pytest.raises(TooLarge, match="Content-Length"):
        fetcher(site).fetch("http://site.test/big.pdf")


def test_undeclared_oversize_refused_while_streaming() -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(10_000):  # 1 MB if read to the end
            sent.append(100)
            yield b"x" * 100

    site = Site({"/big.pdf": lambda r: httpx.Response(200, content=chunks())})
    with pytest.raises(TooLarge, match="while streaming"):
        fetcher(site).fetch("http://site.test/big.pdf")
    assert sum(sent) <= 1000 + 64 * 1024  # stopped near the cap, not at the end


def test_content_disposition_filenames() -> None:
    assert content_disposition_filename('attachment; filename="report.pdf"') == "report.pdf"
    assert content_disposition_filename("attachment; filename*=UTF-8''%E5%B9%B4%E6%8A%A5.pdf") == "年报.pdf"
    raw_gbk = "年报.docx".encode("gbk").decode("latin-1")
    assert content_disposition_filename(f'attachment; filename="{raw_gbk}"') == "年报.docx"
    assert content_disposition_filename(None) is None


def test_undecodable_body_is_refused_not_a_crash() -> None:
    site = Site(
        {
            "/gz": lambda r: httpx.Response(
                200, content=iter([b"not gzip"]), headers={"Content-Encoding": "gzip"}
            )
        }
    )
    with structlog.testing.capture_logs() as logs, pytest.raises(BadEncoding, match="corrupt"):
        fetcher(site).fetch("http://site.test/gz")
    assert site.paths().count("/gz") == 1
    assert [e["outcome"] for e in logs if e["event"] == "fetch" and e["url"].endswith("/gz")] == ["refused"]
