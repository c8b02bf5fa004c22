"""The PDF reader's faux-bold removal is pdfplumber's ``dedupe_chars``
without its quadratic re-sort: it must keep exactly the characters
pdfplumber keeps, in the same order."""

from __future__ import annotations

import io
import random

import pdfplumber
import pytest
import reportgen

from services.extract.engine.readers import pdf as pdf_reader


def _faux_bold_pdf() -> bytes:
    """Lines printed twice 0.3 pt apart (faux bold), every third a third time
    exactly on top of the first."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("STSong-Light", 12)
    lines = [
        "二〇二二年政府信息公开工作年度报告",
        "一、本年新收政府信息公开申请数量 12 3 4",
        "行政规范性文件 5 2 40",
    ]
    for i, line in enumerate(lines * 8):
        y = 800 - i * 20
        c.drawString(72, y, line)
        c.drawString(72.3, y, line)
        if i % 3 == 0:
            c.drawString(72, y, line)
    c.save()
    return buf.getvalue()


def _same_as_pdfplumber(data: bytes) -> int:
    removed = 0
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            theirs = page.dedupe_chars().chars
            ours = pdf_reader._dedupe_chars(page).chars
            assert [id(c) for c in ours] == [id(c) for c in theirs], page.page_number
            removed += len(page.chars) - len(ours)
    return removed


def test_faux_bold_doubles_removed_as_pdfplumber_removes_them() -> None:
    assert _same_as_pdfplumber(_faux_bold_pdf()) > 500


def test_a_page_without_doubles_keeps_every_character_in_order() -> None:
    assert _same_as_pdfplumber(reportgen.pdf_bytes()) == 0


def _tables_same_as_pdfplumber(data: bytes) -> int:
    cells = 0
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page = pdf_reader._dedupe_chars(page)
            by_middle = pdf_reader._CharsByMiddle(page.chars)
            for table in page.find_tables():
                theirs = table.extract()
                assert by_middle.table_text(table.rows) == theirs, page.page_number
                cells += sum(1 for row in theirs for c in row if c)
    return cells


def test_table_cells_read_as_pdfplumber_reads_them() -> None:
    """The reader finds a table's characters by their vertical middle instead
    of testing each against every row: the same text in every cell, on the
    shared corpus's gb2021 PDF (tables over page breaks, merged cells) and on
    the generated report."""
    from tests.accuracy.scoring import SHARED

    assert _tables_same_as_pdfplumber((SHARED / "corpus" / "dev" / "dev-12.pdf").read_bytes()) > 300
    assert _tables_same_as_pdfplumber(reportgen.pdf_bytes()) > 100


def _random_chars(rnd: random.Random, n: int, *, nan: bool = False) -> list[dict[str, object]]:
    """Characters crowded on purpose: few distinct texts, fonts and sizes,
    positions on a coarse grid plus offsets around the 1 pt tolerance, so
    that groups, chains of near neighbours (0.6 + 0.6 > 1) and exact
    doubles are frequent."""
    out: list[dict[str, object]] = []
    for _ in range(n):
        top = rnd.choice((100.0, 112.0, 124.0)) + rnd.choice((0, 0, 0.4, 0.6, 1.0, 1.2, 2.5))
        x0 = rnd.choice((72.0, 84.0, 96.0)) + rnd.choice((0, 0, 0.3, 0.7, 1.0, 1.5))
        size = rnd.choice((12.0, 12.0, 10.5, float("nan") if nan else 12))
        out.append(
            {
                "object_type": "char",
                "page_number": 1,
                "text": rnd.choice("00012年"),
                "fontname": rnd.choice(("A", "A", "B")),
                "size": size,
                "upright": rnd.random() < 0.95,
                "x0": x0,
                "x1": x0 + 6,
                "top": top,
                "bottom": top + 12,
                "doctop": top,
                "y0": 842 - top - 12,
                "y1": 842 - top,
                "width": 6.0,
                "height": 12.0,
            }
        )
    return out


@pytest.mark.parametrize("nan", [False, True])
def test_random_crowded_pages_keep_what_pdfplumber_keeps(nan: bool) -> None:
    """The reader groups and clusters by itself (a lone character skips the
    clustering); on pages crowded with near-doubles it must keep the very
    characters pdfplumber keeps, in the same order. With NaN sizes it
    leaves the grouping to pdfplumber's own code and keeps the page's order
    (pdfplumber's ``chars.index`` re-sort can put equal dicts out of it)."""
    rnd = random.Random(7)
    with pdfplumber.open(io.BytesIO(reportgen.pdf_bytes())) as pdf:
        page = pdf.pages[0]
        removed = 0
        for _ in range(60):
            chars = _random_chars(rnd, rnd.randrange(1, 120), nan=nan)
            page._objects = {"char": chars, "rect": [], "line": []}
            theirs = page.dedupe_chars().chars
            ours = pdf_reader._dedupe_chars(page).chars
            if nan:
                assert sorted(id(c) for c in ours) == sorted(id(c) for c in theirs)
                position = {id(c): i for i, c in enumerate(chars)}
                assert [position[id(c)] for c in ours] == sorted(position[id(c)] for c in ours)
            else:
                assert [id(c) for c in ours] == [id(c) for c in theirs]
            removed += len(chars) - len(ours)
    assert removed > (100 if nan else 500)  # crowded enough to test something (NaN sizes never match)


def test_one_character_cells_read_as_extract_text_reads_them() -> None:
    """A cell holding one character skips pdfplumber's ``extract_text``:
    a printing character is its own text (a ligature expanded), a blank one
    or an empty one gives "", a rotated one goes through extract_text."""
    from types import SimpleNamespace

    from pdfplumber.utils.text import extract_text

    texts = ["0", "ﬁ", " ", "\u3000", "", "(cid:3)", "年"]
    chars = []
    for text in texts:
        for upright in (True, False):
            x0 = 10.0 + 20 * len(chars)
            chars.append(
                {"text": text, "upright": upright, "x0": x0, "x1": x0 + 6, "top": 100.0, "bottom": 112.0}
                | {"doctop": 100.0, "size": 12.0, "fontname": "A", "width": 6.0, "height": 12.0}
            )
    cells = [(c["x0"] - 2, 95.0, c["x1"] + 2, 115.0) for c in chars]
    row = SimpleNamespace(bbox=(0.0, 95.0, 1000.0, 115.0), cells=cells)
    got = pdf_reader._CharsByMiddle(chars).table_text([row])
    assert got == [[extract_text([c]) for c in chars]]
    assert got[0][2] == "fi" and got[0][4] == ""  # the fast path's two rules, spelled out


def test_cells_of_one_line_read_as_extract_text_reads_them() -> None:
    """Cells of several characters on one line skip ``extract_text`` too.
    Random cells with gaps around its 3 pt word tolerance, tops around its
    3 pt line tolerance, characters out of order, blanks, ligatures and
    rotated ones: the reader's text must be extract_text's, and the fast
    path must have been taken for a good share of them."""
    from pdfplumber.utils.text import extract_text

    rnd = random.Random(11)
    fast = 0
    for _ in range(2000):
        chars = []
        x = 100.0
        for _ in range(rnd.randrange(2, 9)):
            x += rnd.choice((6.0, 6.0, 6.0, 8.9, 9.0, 9.1, 12.0, 2.0))
            top = 200.0 + rnd.choice((0.0, 0.0, 0.0, 1.5, 2.9, 3.0, 3.1, -3.0, 14.0))
            chars.append(
                {
                    "text": rnd.choice(
                        ("0", "1", "2", "年", "ﬁ", "(cid:5)", " ") if rnd.random() < 0.1 else "012年"
                    ),
                    "upright": rnd.random() > 0.02,
                    "x0": x,
                    "x1": x + 6,
                    "top": top,
                    "bottom": top + 12,
                    "doctop": top,
                    "size": 12.0,
                    "fontname": "A",
                    "width": 6.0,
                    "height": 12.0,
                }
            )
        rnd.shuffle(chars)
        line = pdf_reader._one_line_text(chars)
        if line is not None:
            fast += 1
            assert line == extract_text(chars), chars
    assert fast > 300  # enough cells took the fast path to test it
