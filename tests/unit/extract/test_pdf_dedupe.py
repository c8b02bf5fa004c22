"""The PDF reader's faux-bold removal is pdfplumber's ``dedupe_chars``
without its quadratic re-sort: it must keep exactly the characters
pdfplumber keeps, in the same order."""

from __future__ import annotations

import io

import pdfplumber
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
