"""The monitor's decisions on an in-memory site, producer and state: what
is published, once; versions; refusals remembered; restarts; backfill."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx

from ogi.settings import Settings
from schemas.events import RawReport
from services.ingest.fetch import Fetcher
from services.ingest.monitor import Monitor
from services.ingest.registry import Source
from services.ingest.state import SeenState, StatusTable

from .wire import wire_transport

NB = "/nb/"


@dataclass
class FakeProducer:
    """Records what would go to Kafka; acknowledges at once."""

    def __post_init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> Any:
        self.sent.append((topic, value, key))
        meta = SimpleNamespace(topic=topic, partition=0, offset=len(self.sent) - 1)
        return SimpleNamespace(get=lambda timeout=None: meta)

    def raw(self) -> list[RawReport]:
        return [RawReport.model_validate_json(v) for t, v, _ in self.sent if t.endswith("raw.reports")]

    def flush(self) -> None: ...

    def close(self) -> None: ...


class Site:
    """Static pages with ETags; ``docs`` may change between polls."""

    def __init__(self, etags: bool = True) -> None:
        self.etags = etags
        self.docs: dict[str, bytes] = {
            "/robots.txt": b"User-agent: *\nAllow: /\n",
            f"{NB}index.htm": self.list_page(
                ("a1.htm", "2023年政府信息公开工作年度报告"),
                ("a2.htm", "2022年政府信息公开工作年度报告"),
                ("2021.pdf", "2021年政府信息公开年报"),
                ("big.pdf", "2020年政府信息公开工作年度报告"),
                ("fake.pdf", "2019年政府信息公开工作年度报告"),
                pages=2,
            ),
            f"{NB}index_1.htm": self.list_page(
                ("old.pdf", "2012年政府信息公开工作年度报告"), pages=2, current=1
            ),
            f"{NB}a1.htm": b'<html><h1>2023</h1><a href="r2023.pdf">pdf</a><a href="r2023.docx">docx</a></html>',
            f"{NB}r2023.pdf": b"%PDF-1.4 2023",
            f"{NB}r2023.docx": b"%PDF-1.4 not really a docx",
            f"{NB}a2.htm": "<html><h1>2022年政府信息公开工作年度报告</h1><p>正文</p></html>".encode(),
            f"{NB}2021.pdf": b"%PDF-1.4 2021",
            f"{NB}big.pdf": b"%PDF-1.4" + b"0" * 5000,
            f"{NB}fake.pdf": b"<html><body>file not found</body></html>",
            f"{NB}old.pdf": b"%PDF-1.4 2012",
        }
        self.requests: list[str] = []

    @staticmethod
    def list_page(*links: tuple[str, str], pages: int = 1, current: int = 0) -> bytes:
        items = "".join(f'<li><a href="{h}">{t}</a></li>' for h, t in links)
        return (
            f'<html><ul>{items}</ul><script>createPageHTML({pages}, {current}, "index", "htm");</script>'
            "</html>"
        ).encode()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        body = self.docs.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        if not self.etags:
            return httpx.Response(200, content=body)
        etag = '"' + hashlib.sha256(body).hexdigest()[:12] + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=body, headers={"ETag": etag})

    def count(self, path: str) -> int:
        return self.requests.count(path)


# every link counts as recent here (re-checked on every poll); the re-check
# policy for old links has its own tests below (OLD_RESTS)
SETTINGS = Settings(
    kafka_bootstrap="127.0.0.1:1",
    es_url="http://127.0.0.1:1",
    ingest_host_delay_s=0,
    ingest_backoff_base_s=0.001,
    ingest_backoff_max_s=0.01,
    max_document_bytes=1000,
    ingest_recheck_recent_days=36500,
)
SOURCE = Source(id="t", name="测试", urls=[f"http://site.test{NB}index.htm"])


def monitor(
    site: Site,
    seen: SeenState | None = None,
    producer: FakeProducer | None = None,
    settings: Settings = SETTINGS,
) -> Monitor:
    return Monitor(
        settings,
        sources=[SOURCE],
        fetcher=Fetcher(settings, transport=wire_transport(site)),
        producer=producer or FakeProducer(),  # type: ignore[arg-type]
        seen=seen or SeenState(settings, memory=True),
        status=StatusTable(settings, memory=True),
    )


def paths(raws: list[RawReport]) -> list[str]:
    return sorted(r.source_url.removeprefix("http://site.test") for r in raws)


def test_first_poll_publishes_each_document_and_refuses_the_rest() -> None:
    site, producer = Site(), FakeProducer()
    m = monitor(site, producer=producer)
    result = m.poll(SOURCE)
    assert paths(producer.raw()) == [
        f"{NB}{p}" for p in ("2021.pdf", "a2.htm", "old.pdf", "r2023.docx", "r2023.pdf")
    ]
    assert result.found == 6 and result.pages == 2 and not result.errors
    refused = "\n".join(result.refused)
    assert "big.pdf" in refused and "cap" in refused
    assert "fake.pdf" in refused and "text/html" in refused
    page = next(r for r in producer.raw() if r.source_url.endswith("a2.htm"))
    assert (page.content_type, page.year, page.title) == ("text/html", 2022, "2022年政府信息公开工作年度报告")
    assert all(key == b"t" for _, _, key in producer.sent)  # keyed by agency


def test_second_poll_publishes_nothing_and_does_not_refetch_refusals() -> None:
    site, producer = Site(), FakeProducer()
    m = monitor(site, producer=producer)
    m.poll(SOURCE)
    before = len(producer.raw())
    result = m.poll(SOURCE)
    assert len(producer.raw()) == before and not result.published
    assert site.count(f"{NB}big.pdf") == 1 and site.count(f"{NB}fake.pdf") == 1


def test_without_validators_the_content_hash_decides() -> None:
    site, producer = Site(etags=False), FakeProducer()
    m = monitor(site, producer=producer)
    m.poll(SOURCE)
    before = len(producer.raw())
    assert not m.poll(SOURCE).published and len(producer.raw()) == before
    assert site.count(f"{NB}r2023.pdf") == 2  # downloaded again, recognised by its sha256
    site.docs[f"{NB}r2023.pdf"] = b"%PDF-1.4 2023 v2"
    assert paths(m.poll(SOURCE).published) == [f"{NB}r2023.pdf"]


def test_restart_with_the_same_state_publishes_nothing() -> None:
    site, producer = Site(), FakeProducer()
    seen = SeenState(SETTINGS, memory=True)
    monitor(site, seen, producer).poll(SOURCE)
    before = len(producer.raw())
    again = monitor(site, seen, producer).poll(SOURCE)  # new process: empty page cache
    assert len(producer.raw()) == before and not again.published


def test_changed_document_at_a_known_url_is_a_new_version() -> None:
    site, producer = Site(), FakeProducer()
    m = monitor(site, producer=producer)
    m.poll(SOURCE)
    site.docs[f"{NB}r2023.pdf"] = b"%PDF-1.4 2023 corrected"
    site.docs[f"{NB}a2.htm"] = (
        "<html><h1>2022年政府信息公开工作年度报告</h1><p>正文（更正）</p></html>".encode()
    )
    result = m.poll(SOURCE)
    assert paths(result.published) == [f"{NB}a2.htm", f"{NB}r2023.pdf"]
    assert m.seen.get(f"http://site.test{NB}r2023.pdf").version == 2  # type: ignore[union-attr]


def test_html_page_whose_markup_changes_but_text_does_not_is_not_republished() -> None:
    site, producer = Site(), FakeProducer()
    m = monitor(site, producer=producer)
    m.poll(SOURCE)
    site.docs[f"{NB}a2.htm"] = (
        "<html><script>var token='x9';</script><h1>2022年政府信息公开工作年度报告</h1><p>正文</p></html>"
    ).encode()
    assert not m.poll(SOURCE).published


def test_same_bytes_at_a_new_url_are_not_published_again() -> None:
    site, producer = Site(), FakeProducer()
    m = monitor(site, producer=producer)
    m.poll(SOURCE)
    site.docs[f"{NB}2021-copy.pdf"] = site.docs[f"{NB}2021.pdf"]
    site.docs[f"{NB}index.htm"] = site.docs[f"{NB}index.htm"].replace(
        b'href="2021.pdf"', b'href="2021-copy.pdf"'
    )
    result = m.poll(SOURCE)
    assert not result.published and f"http://site.test{NB}2021-copy.pdf" in result.unchanged


def test_backfill_reads_back_to_a_year_only() -> None:
    site, producer = Site(), FakeProducer()
    result = monitor(site, producer=producer).poll(SOURCE, since_year=2021)
    assert paths(result.published) == [f"{NB}{p}" for p in ("2021.pdf", "a2.htm", "r2023.docx", "r2023.pdf")]
    assert site.count(f"{NB}old.pdf") == 0 and site.count(f"{NB}big.pdf") == 0


def test_stop_ends_the_poll_between_documents_without_a_success() -> None:
    site = Site()
    m = monitor(site)
    m.stop()
    result = m.poll(SOURCE)
    assert result.stopped and not result.published
    status = m.record_status(SOURCE, result)
    assert status.last_success is None


def test_status_counts_and_errors() -> None:
    site = Site()
    m = monitor(site)
    ok = m.poll_and_record(SOURCE)
    assert ok is not None
    status = m.status.get("t")
    assert status is not None and (status.reports_found, status.published_total, status.refused_total) == (
        6,
        5,
        2,
    )
    assert status.last_error is None and status.last_success is not None
    assert (status.failed_polls, status.last_found_at) == (0, status.last_success)
    site.docs.pop(f"{NB}index.htm")
    m.poll_and_record(SOURCE)
    m.poll_and_record(SOURCE)
    status = m.status.get("t")
    assert status is not None and "404" in (status.last_error or "")
    assert status.failed_polls == 2, "failed polls are counted in a row"


# -- a poll costs what is new -------------------------------------------------

OLD_RESTS = SETTINGS.model_copy(update={"ingest_recheck_recent_days": 365, "ingest_recheck_old_s": 3600.0})


def test_unchanged_list_page_leaves_old_reports_alone() -> None:
    site = Site()
    m = monitor(site, settings=OLD_RESTS)
    first = m.poll(SOURCE)
    again = m.poll(SOURCE)
    # the list pages (304) and nothing else: every report here is years old
    assert again.requests == 2 and again.skipped_old == first.found
    assert site.count(f"{NB}r2023.pdf") == 1 and not again.published


def test_changed_list_page_rechecks_its_links_and_finds_a_corrected_reupload() -> None:
    site = Site()
    m = monitor(site, settings=OLD_RESTS)
    m.poll(SOURCE)
    site.docs[f"{NB}2021.pdf"] = b"%PDF-1.4 2021 corrected"
    site.docs[f"{NB}index.htm"] = site.docs[f"{NB}index.htm"].replace(
        b"2021\xe5\xb9\xb4", b"2021\xe5\xb9\xb4 "
    )
    result = m.poll(SOURCE)
    assert paths(result.published) == [f"{NB}2021.pdf"] and result.skipped_old == 1  # index_1 unchanged


def test_recent_reports_are_rechecked_on_every_poll() -> None:
    from datetime import date

    site = Site()
    this_year = date.today().year
    site.docs[f"{NB}index.htm"] = site.list_page(("new.pdf", f"{this_year - 1}年政府信息公开工作年度报告"))
    site.docs[f"{NB}new.pdf"] = b"%PDF-1.4 new"
    m = monitor(site, settings=OLD_RESTS)
    m.poll(SOURCE)
    site.docs[f"{NB}new.pdf"] = b"%PDF-1.4 new, corrected in place"
    result = m.poll(SOURCE)
    assert paths(result.published) == [f"{NB}new.pdf"] and result.skipped_old == 0
