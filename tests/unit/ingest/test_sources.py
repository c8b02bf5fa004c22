"""``ogi sources import``: every row validated before anything is written,
every bad row named; the imported sources are what the monitor's book reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogi.settings import Settings
from services.ingest.errors import RegistryError, SourceListInvalid
from services.ingest.sources import (
    SourceBook,
    SourceTable,
    import_sources,
    read_rows,
    set_enabled,
    validate_rows,
)

SETTINGS = Settings(kafka_bootstrap="127.0.0.1:1", es_url="http://127.0.0.1:1")

GOOD_CSV = """name,region,level,url,home
杭州市市场监督管理局,浙江省杭州市,city,https://scjg.hangzhou.gov.cn/col/col1229196373/index.html,
西湖区人民政府,浙江省杭州市西湖区,district,,http://www.hzxh.gov.cn/
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_become_sources_with_ids_from_their_sites(tmp_path: Path) -> None:
    sources = validate_rows(read_rows(_write(tmp_path, "a.csv", GOOD_CSV)), registry_ids=set())
    assert [s.id for s in sources] == ["scjg.hangzhou.gov.cn", "www.hzxh.gov.cn"]
    assert sources[0].urls and not sources[0].home
    assert sources[1].home == "http://www.hzxh.gov.cn/" and not sources[1].urls


def test_every_bad_row_is_named_and_nothing_is_imported(tmp_path: Path) -> None:
    text = GOOD_CSV + (
        "无网址局,某省,city,,\n"  # neither url nor home
        "坏网址局,某省,city,ftp://x.gov.cn/nb/,\n"
        "重复局,某省,city,https://scjg.hangzhou.gov.cn/other/,\n"  # same generated id as row 1
    )
    rows = read_rows(_write(tmp_path, "bad.csv", text))
    table = SourceTable(SETTINGS, memory=True)
    with pytest.raises(SourceListInvalid) as caught:
        import_sources(table, validate_rows(rows, registry_ids=set()))
    problems = caught.value.problems
    assert [p.split(")")[0] for p in problems] == [
        "row 3 (无网址局",
        "row 4 (坏网址局, x.gov.cn",
        "row 5 (重复局, scjg.hangzhou.gov.cn",
    ]
    assert (
        "home" in problems[0]
        and "not an http(s) URL" in problems[1]
        and "already given by row 1" in problems[2]
    )
    assert list(table.rows()) == []


def test_yaml_in_the_registry_format_and_clashes_with_the_registry(tmp_path: Path) -> None:
    text = """sources:
  - id: hz-scjg
    name: 杭州市市场监督管理局
    urls: ["https://scjg.hangzhou.gov.cn/col/col1229196373/index.html"]
  - id: xh
    name: 西湖区人民政府
    home: http://www.hzxh.gov.cn/
    hints: {delay_s: 5, typo: 1}
"""
    rows = read_rows(_write(tmp_path, "a.yaml", text))
    with pytest.raises(SourceListInvalid) as caught:
        validate_rows(rows, registry_ids={"hz-scjg"})
    assert caught.value.problems[0].startswith(
        "row 1 (杭州市市场监督管理局, hz-scjg): id 'hz-scjg' is a source of the shipped registry"
    )
    assert caught.value.problems[1].startswith("row 2 (西湖区人民政府, xh): hints.typo")


def test_imported_sources_are_what_the_book_reads_and_disable_takes_one_out(tmp_path: Path) -> None:
    table = SourceTable(SETTINGS, memory=True)
    import_sources(table, validate_rows(read_rows(_write(tmp_path, "a.csv", GOOD_CSV)), registry_ids=set()))
    book = SourceBook(SETTINGS, table)
    ids = [s.id for s in book.sources()]
    assert "scjg.hangzhou.gov.cn" in ids and "www.hzxh.gov.cn" in ids and "hz-scjg" in ids  # shipped ones too
    set_enabled(table, "www.hzxh.gov.cn", False, registry_ids=book.registry_ids())
    book._refreshed = 0.0
    assert "www.hzxh.gov.cn" not in [s.id for s in book.sources()]
    with pytest.raises(RegistryError, match="registry YAML"):
        set_enabled(table, "hz-scjg", False, registry_ids=book.registry_ids())


def test_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="expected a list"):
        read_rows(_write(tmp_path, "a.yaml", "just: text\n"))
