"""The export's pure parts: year ranges, CSV cells, folding the stream into
wide rows, the atomic file, the data dictionary, the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ogi.cli import build_parser
from services.index.export import (
    ABSENT_RULE,
    TIDY_COLUMNS,
    ExportFilter,
    Format,
    YearRange,
    _csv_cell,
    atomic_file,
    data_dictionary,
    wide_column_name,
    wide_rows,
)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2021", 2021, 2021),
        ("2019-2024", 2019, 2024),
        ("2019-", 2019, None),
        ("-2020", None, 2020),
        (" 2019 - 2024 ", 2019, 2024),
    ],
)
def test_year_ranges(text: str, first: int | None, last: int | None) -> None:
    assert YearRange.parse(text) == YearRange(first, last)


@pytest.mark.parametrize("text", ["", "-", "abc", "2024-2019", "2019-20x"])
def test_a_bad_year_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        YearRange.parse(text)


def test_csv_cells_leave_absent_empty_and_write_whole_numbers_without_a_point() -> None:
    assert _csv_cell(None) == ""
    assert _csv_cell(28.0) == "28" and _csv_cell(0.0) == "0" and _csv_cell(-3.0) == "-3"
    assert _csv_cell(1 / 3) == repr(1 / 3) and float(_csv_cell(0.1)) == 0.1
    assert _csv_cell(True) == "true" and _csv_cell(False) == "false"
    assert (
        _csv_cell(["intake_balance", "outcome_sum"]) == "intake_balance;outcome_sum" and _csv_cell([]) == ""
    )
    assert _csv_cell(date(2024, 1, 25)) == "2024-01-25"
    assert _csv_cell(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"


def _doc(
    report: str, agency: str | None, year: int | None, metric: str, value: float, applicant: str = "total"
) -> dict[str, object]:
    return {
        "agency": agency,
        "agency_id": None,
        "region": None,
        "level": None,
        "year": year,
        "template": "gb2021",
        "report_id": report,
        "source_url": None,
        "published_at": "2024-01-25",
        "extracted_at": "2026-01-01T00:00:00Z",
        "failed_checks": [],
        "metric": metric,
        "applicant": applicant,
        "value": value,
    }


def test_wide_rows_fold_consecutive_documents_of_one_report_across_pages() -> None:
    columns = ["applications.granted", "applications.granted[natural_person]", "review.total"]
    pages = [
        [
            _doc("r1", "甲", 2022, "applications.granted", 3),
            _doc("r1", "甲", 2022, "applications.granted", 2, "natural_person"),
        ],
        [_doc("r1", "甲", 2022, "review.total", 0), _doc("r2", "甲", 2023, "applications.granted", 5)],
        [_doc("r3", None, None, "review.total", 1)],
    ]
    seen: list[int] = []
    rows = list(wide_rows(pages, columns, seen.append))
    assert seen == [2, 2, 1]
    assert [
        (
            r["report_id"],
            r["applications.granted"],
            r["applications.granted[natural_person]"],
            r["review.total"],
        )
        for r in rows
    ] == [("r1", 3, 2, 0), ("r2", 5, None, None), ("r3", None, None, 1)]
    assert rows[0]["published_at"] == date(2024, 1, 25)
    assert (
        wide_column_name("a.b", "total") == "a.b" and wide_column_name("a.b", "research") == "a.b[research]"
    )


def test_an_atomic_file_appears_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_file(target) as tmp:
        tmp.write_text("whole")
        assert not target.exists()
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]


def test_the_dictionary_states_the_absent_rule_every_column_and_each_metrics_meaning() -> None:
    text = data_dictionary(
        file_name="x.csv",
        fmt=Format.CSV,
        wide=False,
        columns=list(TIDY_COLUMNS),
        metrics=["applications.refused.total", "review.corrected", "made.up"],
        figures=3,
        index="ogi-metrics",
        export_filter=ExportFilter(regions=("浙江",)),
    )
    assert ABSENT_RULE in text and "not stated, not zero" in text.lower().replace("*", "")
    assert all(f"| {c.name} |" in text for c in TIDY_COLUMNS)
    assert "| applications.refused.total | （三）不予公开 — sum of its reasons |" in text
    assert "| review.corrected | 行政复议 — 结果纠正 |" in text
    assert "| made.up | not in the catalogue |" in text
    assert "region within 浙江" in text and "| intake_balance |" in text


def test_format_follows_the_file_name() -> None:
    assert (
        Format.for_path(Path("a.parquet")) is Format.PARQUET
        and Format.for_path(Path("a.PQ")) is Format.PARQUET
    )
    assert Format.for_path(Path("a.csv")) is Format.CSV and Format.for_path(Path("a")) is Format.CSV


def test_the_command_line_takes_repeated_and_comma_separated_filters() -> None:
    from services.index.cli import _values

    args = build_parser().parse_args(
        [
            "export",
            "-o",
            "x.parquet",
            "--region",
            "浙江,江苏",
            "--region",
            "广东",
            "--years",
            "2019-2024",
            "--metric",
            "applications.refused.*",
            "--only-consistent",
            "--wide",
        ]
    )
    assert _values(args.region) == ("浙江", "江苏", "广东")
    assert args.years == YearRange(2019, 2024) and args.wide and args.only_consistent
    assert _values(None) == ()


def test_the_command_line_refuses_a_bad_year_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--years", "2024-2019"])
    assert "ends before it starts" in capsys.readouterr().err


def test_filters_are_described_in_words() -> None:
    f = ExportFilter(
        agencies=("甲",), years=YearRange(2019, None), metrics=("rates.*",), only_consistent=True
    )
    assert f.describe() == [
        "agency 甲",
        "metric matches rates.*",
        "years 2019–",
        "only reports whose checks all hold",
    ]
    assert ExportFilter().query() == {"match_all": {}}


def test_an_unreachable_store_is_a_typed_error_and_leaves_no_file(tmp_path: Path) -> None:
    import socket

    from ogi.elastic import make_client
    from ogi.settings import Settings
    from services.index.errors import StoreUnavailable
    from services.index.export import export

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    es = make_client(Settings(kafka_bootstrap="127.0.0.1:1", es_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(StoreUnavailable):
        export(es, "ogi-metrics", tmp_path / "x.parquet")
    assert list(tmp_path.iterdir()) == []
