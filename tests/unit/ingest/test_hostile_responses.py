"""Hostile answers to the fetcher (issue 8, rows 1, 6, 8, 11): stacked and
bomb encodings are bounded on decoded bytes, robots.txt included; a slow
drip ends at the deadline, not at the next chunk; broken links are refused
one by one; user:password@ never reaches the fetch log."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest
import structlog

from services.ingest.discovery import parse_list_page
from services.ingest.errors import BadEncoding, InvalidURL, TooLarge, TransportFailure

from .test_fetch import Site, fetcher

CAP = 1024 * 1024


def gzipped(data: bytes, layers: int = 1) -> bytes:
    for _ in range(layers):
        data = gzip.compress(data, compresslevel=9)
    return data


def raw(body: bytes, encoding: str) -> httpx.Response:
    """A response whose bytes arrive as on the wire (not decoded by httpx)."""
    return httpx.Response(
        200,
        headers={"Content-Encoding": encoding, "Content-Type": "application/pdf"},
        stream=httpx.ByteStream(body),
    )


def peak_bytes(run: object) -> int:
    tracemalloc.start()
    try:
        run()  # type: ignore[operator]
    except Exception:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_stacked_gzip_is_refused_without_decoding_it() -> None:
    bomb = gzipped(b"\0" * (64 * 1024 * 1024), layers=2)  # ~0.1 KB on the wire, 64 MB decoded
    assert len(bomb) < 1024
    site = Site({"/a.pdf": lambda r: raw(bomb, "gzip, gzip")})
    f = fetcher(site, max_document_bytes=CAP)
    with pytest.raises(BadEncoding, match="2 layers"):
        f.fetch("http://site.test/a.pdf")
    assert peak_bytes(lambda: f.fetch("http://site.test/a.pdf")) < 4 * CAP


def test_one_layer_bomb_is_stopped_at_the_decoded_cap() -> None:
    bomb = gzipped(b"\0" * (64 * 1024 * 1024))  # 64 KB on the wire, 64 MB decoded
    site = Site({"/a.pdf": lambda r: raw(bomb, "gzip")})
    f = fetcher(site, max_document_bytes=CAP)
    with pytest.raises(TooLarge, match="decoded body passed the 1048576-byte cap"):
        f.fetch("http://site.test/a.pdf")
    assert peak_bytes(lambda: f.fetch("http://site.test/a.pdf")) < 4 * CAP


def test_one_honest_layer_is_decoded_and_identity_is_asked_for() -> None:
    pdf = b"%PDF-1.4 " + b"report " * 1000
    site = Site(
        {
            "/g.pdf": lambda r: raw(gzipped(pdf), "gzip"),
            "/d.pdf": lambda r: raw(zlib.compress(pdf), "deflate"),
            "/r.pdf": lambda r: raw(zlib.compress(pdf)[2:-4], "deflate"),
        }
    )  # raw deflate, as IIS sends
    f = fetcher(site, max_document_bytes=CAP)
    assert [f.fetch(f"http://site.test/{n}.pdf").content for n in "gdr"] == [pdf] * 3
    assert {r.headers["accept-encoding"] for r in site.requests} == {"identity"}


def test_unknown_encoding_is_refused() -> None:
    site = Site({"/a.pdf": lambda r: raw(b"whatever", "zstd")})
    with pytest.raises(BadEncoding, match="zstd"):
        fetcher(site).fetch("http://site.test/a.pdf")


def test_robots_txt_bomb_refuses_the_site_and_the_page_is_never_asked_for() -> None:
    site = Site({"/a.pdf": httpx.Response(200, content=b"%PDF-1.4")})
    site.routes["/robots.txt"] = lambda r: raw(gzipped(b"#" * (64 * 1024 * 1024), layers=2), "gzip, gzip")
    f = fetcher(site, max_document_bytes=CAP)
    with pytest.raises(BadEncoding):
        f.fetch("http://site.test/a.pdf")
    assert "/a.pdf" not in site.paths()


# -- slow drip (row 8) ---------------------------------------------------------


class DripServer:
    """Answers every request with headers, then one body byte every ``every_s``."""

    def __init__(self, every_s: float, body_bytes: int) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.every_s, self.body_bytes = every_s, body_bytes
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n"
                    + f"Content-Length: {self.body_bytes}\r\n\r\n".encode()
                )
                for _ in range(self.body_bytes):
                    time.sleep(self.every_s)
                    conn.sendall(b"x")
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def drip() -> Iterator[DripServer]:
    server = DripServer(every_s=0.3, body_bytes=40)  # 12 s to the end, never 5 s of silence
    yield server
    server.close()


def test_slow_drip_ends_at_the_deadline_not_at_the_end_of_the_body(drip: DripServer) -> None:
    from services.ingest.fetch import Fetcher

    from .test_fetch import settings

    f = Fetcher(
        settings(
            ingest_read_timeout_s=5, ingest_fetch_deadline_s=1.5, ingest_retries=3, max_document_bytes=CAP
        )
    )
    started = time.monotonic()
    with pytest.raises(TransportFailure, match="deadline"):
        f.fetch(f"{drip.url}/a.pdf", allow_private=True, check_robots=False)
    assert time.monotonic() - started < 3.5
    f.close()


# -- broken links (row 6) --------------------------------------------------------


def test_broken_links_on_a_list_page_are_skipped_and_noted() -> None:
    huge = "http://site.test/" + "a" * 200_000 + ".pdf"
    html = (
        "<ul>"
        '<li><a href="/nb/2023.pdf">2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="http://[bad/2022.pdf">2022年政府信息公开工作年度报告</a></li>'
        f'<li><a href="{huge}">2021年政府信息公开工作年度报告</a></li>'
        '<li><a href="http://site.test:99999999/x.pdf">2020年政府信息公开工作年度报告</a></li>'
        '<li><a href="/nb/2019.pdf">2019年政府信息公开工作年度报告</a></li>'
        "</ul>"
    )
    page = parse_list_page(html, "http://site.test/nb/index.htm")
    assert [link.url for link in page.reports] == [
        "http://site.test/nb/2023.pdf",
        "http://site.test/nb/2019.pdf",
    ]
    assert len(page.invalid) == 3 and all(len(p) < 400 for p in page.invalid)


@pytest.mark.parametrize(
    "url", ["http://site.test/" + "a" * 200_000, "http://[bad/x.pdf", "http://site.test:x/"]
)
def test_a_broken_url_is_a_refusal_not_a_crash(url: str) -> None:
    with structlog.testing.capture_logs() as logs, pytest.raises(InvalidURL):
        fetcher(Site({})).fetch(url)
    [event] = [e for e in logs if e["event"] == "fetch"]
    assert event["outcome"] == "refused" and len(event["url"]) < 1000


# -- secrets in the fetch log (row 11) -------------------------------------------------


def test_userinfo_never_reaches_the_fetch_log() -> None:
    site = Site(
        {
            "/a.pdf": httpx.Response(302, headers={"Location": "http://u2:pw2@site.test/b.pdf"}),
            "/b.pdf": httpx.Response(200, content=b"%PDF-1.4"),
        }
    )
    with structlog.testing.capture_logs() as logs:
        fetcher(site).fetch("http://admin:hunter2@site.test/a.pdf?token=abc&id=7")
    text = repr(logs)
    assert "hunter2" not in text and "pw2" not in text and "abc" not in text
    [event] = [e for e in logs if e["event"] == "fetch" and e["kind"] == "page"]
    assert event["url"] == "http://***@site.test/a.pdf?token=***&id=7"


def test_a_poll_with_broken_links_still_publishes_the_good_reports() -> None:
    from .test_monitor import NB, SOURCE, FakeProducer, paths
    from .test_monitor import Site as ColumnSite
    from .test_monitor import monitor as make_monitor

    site, producer = ColumnSite(), FakeProducer()
    site.docs[f"{NB}index.htm"] = ColumnSite.list_page(
        ("2021.pdf", "2021年政府信息公开年报"),
        ("http://[bad/2020.pdf", "2020年政府信息公开工作年度报告"),
        ("http://site.test:99999999/2019.pdf", "2019年政府信息公开工作年度报告"),  # (200 KB links: the
        ("old.pdf", "2012年政府信息公开工作年度报告"),  # integration test; this site's cap is 1000 bytes)
    )
    with structlog.testing.capture_logs() as logs:
        result = make_monitor(site, producer=producer).poll(SOURCE)
    assert paths(producer.raw()) == [f"{NB}2021.pdf", f"{NB}old.pdf"]
    assert not result.errors and len(result.refused) == 2
    assert [e["error_class"] for e in logs if e["event"] == "link refused"] == ["InvalidLink"] * 2
