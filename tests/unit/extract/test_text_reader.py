"""The text reader's rows with explicit separators (issue 17, item 1):
Markdown pipes, tabs, CSV-like commas become table cells; prose with commas
and the one-cell-per-line layout stay paragraphs."""

from __future__ import annotations

import pytest

from services.extract.engine.document import CELL_SEP, ROW_SEP, linearise
from services.extract.engine.readers.text import read_str

ROW = "一、本年新收政府信息公开申请数量"
CELLS = (
    f"{ROW}{CELL_SEP}25{CELL_SEP}1{CELL_SEP}0{CELL_SEP}0{CELL_SEP}0{CELL_SEP}0{CELL_SEP}26{CELL_SEP}{ROW_SEP}"
)


def _cells(text: str) -> list[list[str]]:
    raw = read_str(text)
    rows: dict[tuple[int, int], list[str]] = {}
    for b in raw.blocks:
        if b.table is not None:
            rows.setdefault((b.table, b.row or 0), []).append(b.text)
    return list(rows.values())


@pytest.mark.parametrize(
    "text",
    [
        f"| {ROW} | 25 | 1 | 0 | 0 | 0 | 0 | 26 |\n",
        f"| 项目 | a | b | c | d | e | f | g |\n|---|---|---|---|---|---|---|---|\n| {ROW} | 25 | 1 | 0 | 0 | 0 | 0 | 26 |\n",
        f"{ROW} | 25 | 1 | 0 | 0 | 0 | 0 | 26\n",
        f"｜{ROW}｜25｜1｜0｜0｜0｜0｜26｜\n",
        f"{ROW}\t25\t1\t0\t0\t0\t0\t26\n",
        f"项目,a,b\n{ROW},25,1,0,0,0,0,26\n二、上年结转政府信息公开申请数量,0,0,0,0,0,0,0\n",
        f"{ROW}，25，1，0，0，0，0，26\n二、上年结转政府信息公开申请数量，0，0，0，0，0，0，0\n",
    ],
    ids=["markdown", "markdown-ruled", "bare-pipes", "fullwidth-pipes", "tabs", "csv", "csv-fullwidth"],
)
def test_separated_row_becomes_cells(text: str) -> None:
    assert CELLS in linearise(read_str(text)).text


def test_comma_inside_brackets_stays_in_the_label() -> None:
    rows = _cells(
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形），4，0，0，0，0，0，4\n"
        "（一）予以公开，7，0，0，0，0，0，7\n"
    )
    assert rows[0][0] == "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"
    assert rows[0][1:] == ["4", "0", "0", "0", "0", "0", "4"]


def test_quoted_csv_field_keeps_its_comma() -> None:
    rows = _cells('"规章,含修订",1,0,12\n行政规范性文件,5,2,40\n')
    assert rows[0] == ["规章,含修订", "1", "0", "12"]


def test_blank_cells_are_kept_between_figures() -> None:
    rows = _cells(f"| {ROW} | 28 |  |  |  |  |  | 28 |\n|  | 1 |  |  |  |  |  | 1 |\n")
    assert rows[0] == [ROW, "28", "", "", "", "", "", "28"]


@pytest.mark.parametrize(
    "text",
    [
        "2022年,我局共收到申请28件,均已按时答复,无行政复议\n",  # prose with ASCII commas
        "一是公开质量有待提高，二是解读形式不够丰富，三是平台建设需加强。\n",
        "本年度，我局共收到申请28件，其中自然人25件，法人3件。\n",
        "\t第二十条第（一）项\n\t信息内容\n\t本年制发件数\n\t0\n",  # one cell per line, indented by a tab
        "首页 | 政务公开\n",  # one pipe: a breadcrumb
    ],
    ids=["ascii-comma-prose", "fullwidth-comma-prose", "sentence", "one-cell-per-line", "breadcrumb"],
)
def test_prose_stays_paragraphs(text: str) -> None:
    assert not _cells(text)


def test_a_single_comma_row_is_not_a_table() -> None:
    # commas also punctuate prose: a comma table needs two rows of figures
    assert not _cells(f"{ROW},25,1,0,0,0,0,26\n下文\n")
