"""``ogi export`` on the real Elasticsearch.

The seed reports go through the production path (the extract handler, then
the indexer's document builders and bulk writes), are exported as CSV and
Parquet, tidy and wide, and read back with pandas: the files hold exactly
what the index holds. Filters are checked against an independent reading of
the index; a 100,000-row export runs as a separate process whose peak RSS
does not grow with the row count; an interrupted export leaves no file.
"""

from __future__ import annotations

import fnmatch
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ogi.elastic import INDICES, index_name, install_templates
from ogi.settings import Settings
from ogi.topics import EXTRACTED, METRICS
from schemas import ExtractedReport, RawReport, Template
from services.extract.events import to_metric_events
from services.extract.handler import handle_raw
from services.index.documents import metric_doc, to_action
from services.index.export import ExportFilter, Format, YearRange, export
from services.index.store import Action, bulk_write
from services.ingest.files import raw_from_file
from tests.support import REPO, service_env, wait_for

pytestmark = pytest.mark.integration

SAMPLES = REPO / "data" / "samples"
TRUTH = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))["reports"]
#: where each seed report comes from (the registry's entries for these agencies)
SEED_SOURCES = {
    "000": ("hangzhou-amr", "浙江省杭州市", "city", date(2018, 3, 20)),
    "001": ("guangzhou-amr", "广东省广州市", "city", date(2020, 1, 15)),
    "002": ("weihai-torch-amr", "山东省威海市", "zone", date(2018, 3, 1)),
    "003": ("hangzhou-aic", "浙江省杭州市", "city", date(2012, 3, 30)),
    "004": ("gongshu-amr", "浙江省杭州市拱墅区", "district", date(2024, 1, 25)),
}
#: a report whose checks fail, to give --only-consistent something to drop
INCONSISTENT = ExtractedReport(
    report_id="export-inconsistent",
    agency="样例县人民政府办公室",
    agency_id="sample-county",
    region="浙江省样例县",
    level="district",
    year=2022,
    template=Template.GB2021,
    source_url="https://example.invalid/2022.pdf",
    published_at=date(2023, 1, 31),
    metrics={
        "applications.new_received": 10,
        "applications.total_handled": 9,
        "applications.granted": 4,
        "applications.refused.total": 5,
    },
    breakdown={"applications.new_received": {"natural_person": 7, "commercial": 3, "total": 10}},
    checks={"intake_balance": False, "outcome_sum": True},
)

IDENTITY = ["agency", "year", "metric", "applicant"]


def _scoped(settings: Settings, name: str) -> Settings:
    """The session's settings with an index prefix of this module's own, so
    an export sees exactly the documents the test wrote."""
    return settings.model_copy(update={"index_prefix": f"{settings.index_prefix}{name}-"})


def _drop(es, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    for kind in INDICES:
        es.options(ignore_status=404).indices.delete(index=index_name(kind, settings))
        es.options(ignore_status=404).indices.delete_index_template(name=index_name(kind, settings))


def _index_seeds(es, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    actions: list[Action] = []
    for path in sorted(SAMPLES.glob("*.txt")):
        agency_id, region, level, published = SEED_SOURCES[path.name[:3]]
        raw = RawReport.from_bytes(
            path.read_bytes(),
            agency_id=agency_id,
            region=region,
            level=level,
            source_url=f"https://example.invalid/{path.name}",
            published_at=published,
            filename=path.name,
            content_type="text/plain",
        )
        extracted = handle_raw(raw.model_dump_json().encode(), settings)
        actions.append(
            to_action(EXTRACTED.name(settings), extracted.report.model_dump_json().encode(), settings)
        )
        actions += [
            to_action(METRICS.name(settings), m.model_dump_json().encode(), settings)
            for m in extracted.metrics
        ]
    actions += [
        to_action(METRICS.name(settings), m.model_dump_json().encode(), settings)
        for m in to_metric_events(INCONSISTENT)
    ]
    result = bulk_write(es, actions, refresh=True)
    assert result.rejected == []


@pytest.fixture(scope="module")
def seeded(platform: Settings, es) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    settings = _scoped(platform, "export")
    install_templates(es, settings)
    _index_seeds(es, settings)
    yield settings
    _drop(es, settings)


def _indexed(es, settings: Settings) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every metric document, read independently of the export code."""
    resp = es.search(index=index_name("metrics", settings), size=10_000, query={"match_all": {}})
    return [h["_source"] for h in resp["hits"]["hits"]]


def _key(d: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(d[k] for k in IDENTITY)


def _checks(value: Any) -> list[str]:
    """failed_checks as read back: a list (Parquet) or ';'-joined text (CSV)."""
    if isinstance(value, str):
        return value.split(";") if value else []
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return list(value)


def _read(path: Path, fmt: Format) -> pd.DataFrame:
    if fmt is Format.PARQUET:
        return pd.read_parquet(path)
    return pd.read_csv(
        path,
        dtype={"agency_id": str, "report_id": str, "failed_checks": str},
        keep_default_na=False,
        na_values=[""],
    )


def _na(v: Any) -> Any:
    return None if v is None or (not isinstance(v, (list, tuple)) and pd.isna(v)) else v


@pytest.mark.parametrize("fmt", [Format.CSV, Format.PARQUET])
def test_tidy_export_reads_back_equal_to_the_index(seeded: Settings, es, tmp_path: Path, fmt: Format) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"seeds.{fmt.value}"
    result = export(es, index_name("metrics", seeded), path)
    indexed = {_key(d): d for d in _indexed(es, seeded)}
    frame = _read(path, fmt)
    assert result.rows == len(frame) == len(indexed)
    rows = {(r["agency"], int(r["year"]), r["metric"], r["applicant"]): r for r in frame.to_dict("records")}
    assert rows.keys() == indexed.keys()
    for key, doc in indexed.items():
        row = rows[key]
        assert row["value"] == doc["value"], key
        assert bool(row["derived"]) == doc["derived"]
        for name in ("agency_id", "region", "level", "template", "report_id", "source_url", "provenance"):
            assert _na(row[name]) == doc[name], (key, name)
        assert _checks(row["failed_checks"]) == doc["failed_checks"]
        assert pd.Timestamp(row["published_at"]).date().isoformat() == doc["published_at"]
        assert pd.Timestamp(row["extracted_at"]) == pd.Timestamp(doc["extracted_at"])

    # and the figures are the seeds' hand-checked values
    total_handled = frame[(frame.metric == "applications.total_handled") & (frame.applicant == "total")]
    assert (
        dict(zip(total_handled.agency, total_handled.value, strict=False))["杭州市拱墅区市场监督管理局"] == 28
    )
    for name, truth in TRUTH.items():
        mine = frame[
            (frame.agency == truth["agency"]) & (frame.year == truth["year"]) & (frame.applicant == "total")
        ]
        assert {
            m: v for m, v in zip(mine.metric, mine.value, strict=False) if m in truth["metrics"]
        } == truth["metrics"], name


def test_parquet_columns_are_typed_and_the_dictionary_is_in_the_file(
    seeded: Settings, es, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "seeds.parquet"
    export(es, index_name("metrics", seeded), path)
    schema = pq.read_schema(path)
    types = {f.name: str(f.type) for f in schema}
    assert (types["year"], types["value"], types["derived"]) == ("int32", "double", "bool")
    assert types["published_at"] == "date32[day]" and types["extracted_at"] == "timestamp[us, tz=UTC]"
    assert types["failed_checks"].startswith("list<")
    assert b"catalogue key" in schema.field("metric").metadata[b"description"]
    meta = schema.metadata
    meanings = json.loads(meta[b"ogi.metric_meanings"])
    assert meanings["applications.refused.total"].startswith("（三）不予公开")
    assert "not stated, not zero" in meta[b"ogi.data_dictionary"].decode()
    readme = (tmp_path / "seeds.parquet.README.md").read_text(encoding="utf-8")
    assert readme == meta[b"ogi.data_dictionary"].decode()
    for column in schema.names:
        assert f"| {column} |" in readme
    for metric in meanings:
        assert f"| {metric} | {meanings[metric]} |" in readme


def test_csv_with_bom_opens_in_excel_and_marks_absent_figures_empty(
    seeded: Settings, es, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "seeds.csv"
    export(es, index_name("metrics", seeded), path, bom=True, wide=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfagency,")
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    # seed 003 (a 2011 report) states no figure the catalogue has a key for:
    # no metric document, so no row — not a row of zeros
    assert "杭州市工商行政管理局" not in set(frame.agency)
    # a figure one report states and another does not is an empty cell, never 0
    gongshu = frame[frame.agency == "杭州市拱墅区市场监督管理局"].iloc[0]
    hangzhou = frame[frame.agency == "杭州市市场监督管理局"].iloc[0]
    assert gongshu["applications.total_handled"] == 28
    assert pd.isna(hangzhou["applications.carried_over"]) and not pd.isna(
        gongshu["applications.carried_over"]
    )


@pytest.mark.parametrize("fmt", [Format.CSV, Format.PARQUET])
def test_wide_export_has_one_row_per_agency_year_and_the_same_figures(
    seeded: Settings, es, tmp_path: Path, fmt: Format
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"wide.{fmt.value}"
    result = export(es, index_name("metrics", seeded), path, wide=True)
    frame = _read(path, fmt)
    indexed = _indexed(es, seeded)
    assert result.rows == len(frame) == len({(d["agency"], d["year"], d["report_id"]) for d in indexed})
    assert not frame.duplicated(["agency", "year"]).any()
    cells = 0
    for row in frame.to_dict("records"):
        mine = [d for d in indexed if (d["agency"], d["year"]) == (row["agency"], row["year"])]
        for d in mine:
            column = d["metric"] if d["applicant"] == "total" else f"{d['metric']}[{d['applicant']}]"
            assert row[column] == d["value"], column
        stated = {
            (d["metric"] if d["applicant"] == "total" else f"{d['metric']}[{d['applicant']}]") for d in mine
        }
        metric_columns = [
            c
            for c in frame.columns
            if c.startswith(("applications.", "review.", "litigation.", "proactive.", "fees.", "rates."))
        ]
        assert {c for c in metric_columns if not pd.isna(row[c])} == stated
        cells += len(stated)
    assert cells == len(indexed)


#: the places the filters name, written out by hand as the paths stored
PLACES = {"杭州": "浙江省杭州市", "广州": "广东省广州市", "威海": "山东省威海市"}


def _expected(docs: list[dict[str, Any]], f: ExportFilter) -> set[tuple[Any, ...]]:
    """The filter's meaning, written out by hand over the documents."""

    def keep(d: dict[str, Any]) -> bool:
        return (
            (not f.regions or any((d["region"] or "").startswith(PLACES[r]) for r in f.regions))
            and (not f.agencies or d["agency"] in f.agencies or d["agency_id"] in f.agencies)
            and (not f.levels or d["level"] in f.levels)
            and (
                f.years is None
                or (
                    (f.years.first is None or d["year"] >= f.years.first)
                    and (f.years.last is None or d["year"] <= f.years.last)
                )
            )
            and (not f.metrics or any(fnmatch.fnmatchcase(d["metric"], m) for m in f.metrics))
            and (not f.applicants or d["applicant"] in f.applicants)
            and (not f.only_consistent or not d["failed_checks"])
        )

    return {_key(d) for d in docs if keep(d)}


FILTERS = {
    # a place without its province finds the full paths indexed (浙江省杭州市拱墅区)
    "region prefix": ExportFilter(regions=("杭州",)),
    "region, two values": ExportFilter(regions=("广州", "威海")),
    "agency by name or id": ExportFilter(agencies=("杭州市拱墅区市场监督管理局", "guangzhou-amr")),
    "level": ExportFilter(levels=("district",)),
    "years": ExportFilter(years=YearRange.parse("2019-2024")),
    "open-ended years": ExportFilter(years=YearRange.parse("-2017")),
    "metric glob": ExportFilter(metrics=("applications.refused.*",)),
    "metric key and glob": ExportFilter(metrics=("review.total", "rates.*")),
    "applicant": ExportFilter(applicants=("natural_person",)),
    "only consistent": ExportFilter(only_consistent=True),
    "all together": ExportFilter(
        regions=("杭州",),
        years=YearRange.parse("2019-2024"),
        metrics=("applications.*",),
        only_consistent=True,
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_filters_select_exactly_their_rows(seeded: Settings, es, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    f = FILTERS[name]
    expected = _expected(_indexed(es, seeded), f)
    assert expected, "a filter that selects nothing proves nothing"
    path = tmp_path / "filtered.parquet"
    result = export(es, index_name("metrics", seeded), path, export_filter=f)
    frame = pd.read_parquet(path)
    got = {(r["agency"], int(r["year"]), r["metric"], r["applicant"]) for r in frame.to_dict("records")}
    assert got == expected and result.rows == len(expected)
    if f.describe():
        assert f.describe()[0] in (tmp_path / "filtered.parquet.README.md").read_text(encoding="utf-8")


def test_only_consistent_drops_the_report_whose_checks_fail(seeded: Settings, es, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "consistent.csv"
    export(es, index_name("metrics", seeded), path, export_filter=ExportFilter(only_consistent=True))
    agencies = set(pd.read_csv(path).agency)
    assert INCONSISTENT.agency not in agencies and "杭州市拱墅区市场监督管理局" in agencies


def test_the_cli_writes_both_files_and_a_failed_export_leaves_none(seeded: Settings, tmp_path: Path) -> None:
    env = service_env(seeded)
    for name in ("x.parquet", "x.csv"):
        out = subprocess.run(
            [sys.executable, "-m", "ogi.cli", "export", "-o", str(tmp_path / name)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        assert "rows" in out.stdout
    frame = pd.read_parquet(tmp_path / "x.parquet")
    handled = frame[
        (frame.agency == "杭州市拱墅区市场监督管理局")
        & (frame.metric == "applications.total_handled")
        & (frame.applicant == "total")
    ]
    assert list(handled.value) == [28]
    assert len(pd.read_csv(tmp_path / "x.csv")) == len(frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "x.csv",
        "x.csv.README.md",
        "x.parquet",
        "x.parquet.README.md",
    ]

    # an index that does not exist: a clear error, exit 1, and nothing written
    env["OGI_INDEX_PREFIX"] = f"{seeded.index_prefix}missing-"
    out = subprocess.run(
        [sys.executable, "-m", "ogi.cli", "export", "-o", str(tmp_path / "y.csv")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1 and "no file written" in out.stderr
    assert not any(p.name.startswith(("y.", ".y.")) for p in tmp_path.iterdir())


@pytest.fixture(scope="module")
def regions(platform: Settings, es) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """Two Zhejiang reports, one ingested as a file (no registry region: the
    report prints 杭州市拱墅区) and one from its registry source (浙江省杭州市),
    and a Guangdong file; all through the production path."""
    settings = _scoped(platform, "exportregions")
    install_templates(es, settings)
    seeds = {path.name[:3]: path for path in SAMPLES.glob("*.txt")}
    agency_id, region, level, published = SEED_SOURCES["000"]
    raws = [
        RawReport.from_bytes(
            seeds["000"].read_bytes(),
            agency_id=agency_id,
            region=region,
            level=level,
            source_url="https://example.invalid/000.txt",
            published_at=published,
            filename=seeds["000"].name,
            content_type="text/plain",
        ),
        raw_from_file(seeds["004"], settings=settings),
        raw_from_file(seeds["001"], settings=settings),
    ]
    actions: list[Action] = []
    for raw in raws:
        extracted = handle_raw(raw.model_dump_json().encode(), settings)
        actions += [
            to_action(METRICS.name(settings), m.model_dump_json().encode(), settings)
            for m in extracted.metrics
        ]
    assert bulk_write(es, actions, refresh=True).rejected == []
    yield settings
    _drop(es, settings)


def _cli_export_region(settings: Settings, out: Path, place: str) -> pd.DataFrame:
    done = subprocess.run(
        [sys.executable, "-m", "ogi.cli", "export", "--region", place, "-o", str(out)],
        env=service_env(settings),
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return pd.read_csv(out, dtype={"agency_id": str}, keep_default_na=False, na_values=[""])


def test_a_province_finds_reports_with_and_without_a_registry_region(
    regions: Settings, tmp_path: Path
) -> None:
    frame = _cli_export_region(regions, tmp_path / "zj.csv", "浙江")
    assert dict(zip(frame.agency, frame.region, strict=False)) == {
        "杭州市市场监督管理局": "浙江省杭州市",  # registry 浙江省杭州市, report 杭州市
        "杭州市拱墅区市场监督管理局": "浙江省杭州市拱墅区",  # no registry region: the gazetteer placed it
    }
    assert set(frame[frame.agency == "杭州市拱墅区市场监督管理局"].agency_id) == {"file"}
    assert set(_cli_export_region(regions, tmp_path / "gd.csv", "廣東").region) == {"广东省广州市"}


@pytest.fixture(scope="module")
def unnamed(platform: Settings, es) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """Reports without an agency or a year (the extractor could not tell):
    their sort values are missing, which paging must survive."""
    settings = _scoped(platform, "exportpaging")
    install_templates(es, settings)
    index = index_name("metrics", settings)
    reports = [
        ExtractedReport(
            report_id=f"paging-{i}",
            agency=agency,
            year=year,
            template=Template.FREETEXT,
            metrics={"applications.new_received": i, "applications.total_handled": i + 1, "review.total": 0},
            breakdown={"applications.new_received": {"natural_person": i, "total": i}},
        )
        for i, (agency, year) in enumerate(
            [("甲局", 2020), (None, 2021), ("乙局", None), (None, None), ("甲局", 2021), (None, None)]
        )
    ]
    actions = [Action(index, *metric_doc(e)) for r in reports for e in to_metric_events(r)]
    assert bulk_write(es, actions, refresh=True).rejected == []
    yield settings
    _drop(es, settings)


@pytest.mark.parametrize("wide", [False, True])
def test_small_pages_give_the_same_file_even_across_missing_agencies_and_years(
    unnamed: Settings, es, tmp_path: Path, wide: bool
) -> None:  # type: ignore[no-untyped-def]
    index = index_name("metrics", unnamed)
    one_page = export(es, index, tmp_path / "one.parquet", wide=wide)
    paged = export(es, index, tmp_path / "paged.parquet", wide=wide, page_size=4)
    assert one_page.rows == paged.rows == (6 if wide else 6 * 4)
    a, b = pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "paged.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert a.agency.isna().sum() == (3 if wide else 12) and a.year.isna().sum() == (3 if wide else 12)
    assert not a.drop(columns=["failed_checks"]).astype(str).duplicated().any()


# ---------------------------------------------------------------------------
# 100,000 rows: constant memory, and interruption


BIG_AGENCIES, BIG_YEARS = 1000, range(2015, 2025)
BIG_METRICS = (
    "applications.new_received",
    "applications.carried_over",
    "applications.granted",
    "applications.partially_granted",
    "applications.refused.total",
    "applications.unable.total",
    "applications.not_processed.total",
    "applications.other.total",
    "applications.total_handled",
    "applications.carried_forward",
)
BIG_ROWS = BIG_AGENCIES * len(BIG_YEARS) * len(BIG_METRICS)


@pytest.fixture(scope="module")
def big(platform: Settings, es) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """100,000 synthetic metric documents, bulk-loaded with the indexer's
    document builder and the store's bulk write, a report at a time."""
    settings = _scoped(platform, "exportbig")
    install_templates(es, settings)
    index = index_name("metrics", settings)
    extracted_at = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[Action] = []
    for a in range(BIG_AGENCIES):
        for year in BIG_YEARS:
            report = ExtractedReport(
                report_id=f"big-{a}-{year}",
                agency=f"合成机关{a:04d}",
                agency_id=f"synthetic-{a}",
                region="浙江省合成市",
                level="city",
                year=year,
                template=Template.GB2021,
                source_url=f"https://example.invalid/{a}/{year}.pdf",
                published_at=date(year + 1, 1, 31),
                extracted_at=extracted_at,
                metrics={m: float(a + i) for i, m in enumerate(BIG_METRICS)},
            )
            batch += [Action(index, *metric_doc(e)) for e in to_metric_events(report)]
        if len(batch) >= 5000:
            assert bulk_write(es, batch).rejected == []
            batch = []
    assert bulk_write(es, batch).rejected == []
    es.indices.refresh(index=index)
    assert es.count(index=index)["count"] == BIG_ROWS
    yield settings
    _drop(es, settings)


def _export_process(settings: Settings, out: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as stderr:  # a file, not a pipe: nobody has to drain it while we wait
        return subprocess.Popen(
            [sys.executable, "-m", "ogi.cli", "export", "-o", str(out), *args],
            env=service_env(settings),
            cwd=out.parent,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def _run_measured(settings: Settings, out: Path, log: Path, *args: str) -> int:
    """Run an export to completion; returns its peak RSS in MiB.

    Read from the export's own VmHWM, not from wait4's ru_maxrss: that
    figure survives fork and exec, so it would report the test runner's
    peak (hundreds of MiB late in a full session) instead of the export's.
    VmHWM is a high-water mark, so the last reading is the peak."""
    proc = _export_process(settings, out, log, *args)
    peak_kib = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak_kib = max(peak_kib, int(line.split()[1]))
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == 0, log.read_text(errors="replace")
    assert peak_kib, "the export ended before its memory could be read"
    return peak_kib // 1024


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_100k_row_export_runs_in_constant_memory(big: Settings, tmp_path: Path, fmt: str) -> None:
    """Peak RSS of the whole export does not grow with the rows: exporting
    ten times the rows costs (almost) no more memory. Holding the rows would
    cost well over 100 MiB at this size."""
    small_rss = _run_measured(big, tmp_path / f"small.{fmt}", tmp_path / "small.log", "--years", "2024")
    start = time.monotonic()
    big_rss = _run_measured(big, tmp_path / f"big.{fmt}", tmp_path / "big.log")
    seconds = time.monotonic() - start
    frame = (
        pd.read_parquet(tmp_path / f"big.{fmt}") if fmt == "parquet" else pd.read_csv(tmp_path / f"big.{fmt}")
    )
    assert len(frame) == BIG_ROWS
    assert len(
        pd.read_parquet(tmp_path / f"small.{fmt}")
        if fmt == "parquet"
        else pd.read_csv(tmp_path / f"small.{fmt}")
    ) == BIG_ROWS // len(BIG_YEARS)
    print(
        f"\n{fmt}: {BIG_ROWS} rows in {seconds:.1f}s, peak RSS {big_rss} MiB "
        f"({BIG_ROWS // len(BIG_YEARS)} rows: {small_rss} MiB)"
    )
    assert big_rss - small_rss < 30, (small_rss, big_rss)
    assert big_rss < 400, big_rss


@pytest.mark.parametrize(("fmt", "sig"), [("csv", signal.SIGINT), ("parquet", signal.SIGTERM)])
def test_an_interrupted_export_leaves_no_file(big: Settings, tmp_path: Path, fmt: str, sig: int) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out, log = out_dir / f"interrupted.{fmt}", tmp_path / "export.log"
    proc = _export_process(big, out, log)
    try:
        # interrupt once rows are being written: the temporary file exists and has data
        def writing() -> bool:
            return any(
                p.name.endswith(".part") and p.stat().st_size > 0
                for p in out_dir.iterdir()
                if p.name.startswith(f".{out.name}")
            )

        wait_for(writing, 120, "the export to start writing", lambda: log.read_text(errors="replace"))
        proc.send_signal(sig)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, log.read_text(errors="replace")
    assert "no file written" in log.read_text()
    assert list(out_dir.iterdir()) == []
