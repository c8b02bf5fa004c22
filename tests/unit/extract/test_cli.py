import argparse
import json
import os

import pytest
import reportgen

from services.extract import cli


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    s = p.add_subparsers()
    cli.register(s)
    a = p.parse_args(argv)
    return int(a.handler(a))


def test_json_lines_and_error_lines(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "r.txt"
    good.write_text(reportgen.flattened_text(), encoding="utf-8")
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04 broken")
    missing = tmp_path / "nope.pdf"
    code = run(["extract", "--json", str(good), str(bad), str(missing)])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [x["file"] for x in lines] == [str(good), str(bad), str(missing)]
    assert lines[0]["template"] == "gb2021" and lines[0]["metrics"]["applications.new_received"] == 46
    assert {"agency", "year", "script", "breakdown", "checks", "provenance", "warnings"} <= set(lines[0])
    assert lines[1]["error_class"] == "CorruptDocument" and lines[1]["error"]
    assert lines[2]["error_class"] == "FileNotFoundError"


def test_human_summary(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "r.txt"
    good.write_text(reportgen.flattened_text(), encoding="utf-8")
    assert run(["extract", "--unbounded", str(good)]) == 0
    out = capsys.readouterr().out
    assert "gb2021" in out and reportgen.AGENCY in out


def test_json_region_is_the_full_path_the_worker_stores(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "gongshu.txt"
    report.write_text(
        reportgen.flattened_text().replace(reportgen.AGENCY, "杭州市拱墅区人民政府"), encoding="utf-8"
    )
    assert run(["extract", "--json", "--unbounded", str(report)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["agency"], line["region"]) == ("杭州市拱墅区人民政府", "浙江省杭州市拱墅区")


def test_the_worker_size_limit_applies(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # issue 8 #12: `ogi extract` read a file of any size
    from ogi.settings import get_settings

    monkeypatch.setenv("OGI_MAX_DOCUMENT_BYTES", "1000")
    big = tmp_path / "big.txt"
    big.write_text(reportgen.flattened_text(), encoding="utf-8")
    assert big.stat().st_size > 1000
    get_settings.cache_clear()  # the process-wide settings are cached
    try:
        assert run(["extract", "--json", "--unbounded", str(big)]) == 1
    finally:
        get_settings.cache_clear()
    line = json.loads(capsys.readouterr().out)
    assert line["error_class"] == "FileTooLarge" and "1000-byte limit" in line["error"]


@pytest.mark.timeout(30)
def test_a_fifo_is_refused(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # issue 8 #12: a FIFO passed the size check (st_size 0) and then hung the read
    fifo = tmp_path / "report.txt"
    os.mkfifo(fifo)
    assert run(["extract", "--json", "--unbounded", str(fifo)]) == 1
    line = json.loads(capsys.readouterr().out)
    assert line["error_class"] == "NotARegularFile"
