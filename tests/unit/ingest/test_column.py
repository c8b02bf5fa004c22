"""Column discovery and second-request list pages, on the local sample
site (real HTTP on 127.0.0.1, the real fetcher): a portal built like an
agency's (navigation menu, a 政务公开 section, the column two levels down),
in simplified and traditional characters, with the column's items on list
pages, behind a JCMS dataproxy.jsp or behind a JSON API."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogi.settings import Settings
from services.ingest.column import find_column, step_rank
from services.ingest.errors import ColumnNotFound
from services.ingest.fetch import Fetcher
from services.ingest.monitor import Monitor
from services.ingest.registry import Hints, Source
from services.ingest.sample_site import COLUMN, SampleSite
from services.ingest.sources import SourceTable
from services.ingest.state import SeenState, StatusTable

from .test_monitor import FakeProducer

REPO = Path(__file__).resolve().parents[3]
SAMPLES = sorted((REPO / "data" / "samples").glob("*.txt"))
SETTINGS = Settings(
    kafka_bootstrap="127.0.0.1:1", es_url="http://127.0.0.1:1", ingest_host_delay_s=0, ingest_max_pages=10
)


@pytest.fixture(params=["pages", "dataproxy", "json"])
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _site(layout: str = "pages", traditional: bool = False) -> SampleSite:
    site = SampleSite(
        SAMPLES, truth_file=SAMPLES[0].parent / "truth.json", layout=layout, traditional=traditional
    )
    site._thread.start()
    return site


@pytest.mark.parametrize("traditional", [False, True])
def test_discover_follows_the_portal_navigation_to_the_column(layout: str, traditional: bool) -> None:
    site = _site(layout, traditional)
    fetcher = Fetcher(SETTINGS)
    try:
        found = find_column(fetcher, f"{site.url}/", allow_private=True)
    finally:
        fetcher.close()
        site.stop()
    assert found.url == f"{site.url}{COLUMN}index.htm"
    assert [s.url.removeprefix(site.url) for s in found.path] == [
        "/zwgk/",
        "/zwgk/fdzdgknr/",
        f"{COLUMN}index.htm",
    ]
    assert found.reports >= 1
    assert found.pages_read <= 6  # best step first: no wandering through news and about pages


def test_discover_reports_what_it_tried_when_there_is_no_column() -> None:
    site = _site()
    site.pages.pop(f"{COLUMN}index.htm")
    fetcher = Fetcher(SETTINGS)
    try:
        with pytest.raises(ColumnNotFound, match="no annual-report column"):
            find_column(fetcher, f"{site.url}/", allow_private=True)
    finally:
        fetcher.close()
        site.stop()


def test_discover_is_refused_loopback_unless_allowed() -> None:
    site = _site()
    fetcher = Fetcher(SETTINGS)
    try:
        with pytest.raises(ColumnNotFound, match="loopback"):
            find_column(fetcher, f"{site.url}/")
    finally:
        fetcher.close()
        site.stop()


def test_step_ranks() -> None:
    assert (
        step_rank("政府信息公开年报") == 3
        and step_rank("政府資訊公開年報") == 3
        and step_rank("年度报告") == 3
    )
    assert step_rank("2023年政府信息公开工作年度报告") == 0  # a report, not the column
    assert step_rank("法定主動公開內容") == 2 and step_rank("政務公開") == 1
    assert step_rank("关于做好2024年度企业年报公示工作的通知") == 0 and step_rank("新闻动态") == 0


def _monitor(producer: FakeProducer, table: SourceTable) -> Monitor:
    return Monitor(
        SETTINGS,
        sources=[],
        fetcher=Fetcher(SETTINGS),
        producer=producer,  # type: ignore[arg-type]
        seen=SeenState(SETTINGS, memory=True),
        status=StatusTable(SETTINGS, memory=True),
        source_table=table,
    )


def test_monitor_finds_the_column_of_a_home_page_source_remembers_it_and_reads_every_item(
    layout: str,
) -> None:
    site = _site(layout)
    producer, table = FakeProducer(), SourceTable(SETTINGS, memory=True)
    source = Source(
        id="home-only",
        name="样例",
        home=f"{site.url}/",
        allow_private=True,
        hints=Hints(attachments=[".txt"]),
    )
    m = _monitor(producer, table)
    try:
        result = m.poll(source)
        assert not result.errors, result.errors
        assert sorted(r.sha256[:40] for r in result.published) == sorted(site.report_ids)
        record = table.get("home-only")
        assert record is not None and record.column == f"{site.url}{COLUMN}index.htm"
        assert len(record.column_path) == 3
        # moved: the old column lists nothing any more -> found again from the home page
        site.pages["/zwgk/zfxxgknb2/index.htm"] = site.pages[f"{COLUMN}index.htm"]
        site.pages[f"{COLUMN}index.htm"] = site.pages["/hdjl/"]
        fdzd = site.pages["/zwgk/fdzdgknr/"]
        site.pages["/zwgk/fdzdgknr/"] = type(fdzd)(
            fdzd.body.replace(b"zfxxgknb/index.htm", b"zfxxgknb2/index.htm"), fdzd.content_type
        )
        quiet = m.poll_and_record(source)
        assert quiet is not None and quiet.found == 0
        assert table.get("home-only").column is None  # type: ignore[union-attr]
        m.poll(source)
        assert table.get("home-only").column == f"{site.url}/zwgk/zfxxgknb2/index.htm"  # type: ignore[union-attr]
    finally:
        m.close()
        site.stop()
