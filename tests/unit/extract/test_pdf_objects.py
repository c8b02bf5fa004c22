"""The fast PDF path (page objects read by PDFium) against the reference
(pdfminer).

On a real report both must give the same blocks, cell for cell. On the
generated PDFs (ruled tables, tables without ruling lines, a table continued
on the next page with its header repeated) both must give the report's
figures; blocks may differ where pdfminer keeps a glyph that the PDF clips
out of sight (PDFium reads what a viewer shows). A PDF written by
LibreOffice is where the two part ways: pdfminer maps its subset-font glyphs
to the wrong characters (示示示示…), PDFium reads the text as printed.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
import reportgen

from services.extract.engine import extract
from services.extract.engine.readers import pdf

EXPECTED = reportgen.expected_metrics()


def _cells(data: bytes, *, pdfium: bool) -> list[tuple[object, ...]]:
    doc = pdf.read(data, pdfium=pdfium)
    return [(b.text, b.page, b.table, b.row, b.col, b.row_end) for b in doc.blocks]


def _figures(data: bytes) -> dict[str, float]:
    r = extract(data, filename="report.pdf")
    return {k: v for k, v in r.metrics.items() if not k.startswith("rates.")}


def test_real_report_same_blocks_both_ways(corpus: Path) -> None:
    data = (corpus / "dev" / "dev-12.pdf").read_bytes()
    reference = _cells(data, pdfium=False)
    assert len(reference) > 300
    assert _cells(data, pdfium=True) == reference


@pytest.mark.parametrize("grid,repeat_header", [(True, False), (True, True)])
def test_generated_ruled_pdfs_read_the_spec(grid: bool, repeat_header: bool) -> None:
    assert _figures(reportgen.pdf_bytes(grid=grid, repeat_header=repeat_header)) == EXPECTED


def test_generated_pdf_without_ruling_lines_reads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    data = reportgen.pdf_bytes(grid=False)
    fast = _figures(data)
    monkeypatch.setattr(pdf, "_use_pdfium_objects", lambda *_: lambda: None)
    assert fast == _figures(data)


def test_libreoffice_pdf_text_as_printed() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.docx"
        src.write_bytes(reportgen.docx_bytes())
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        texts = [b.text for b in pdf.read((Path(tmp) / "report.pdf").read_bytes()).blocks]
    assert texts[0] == f"{reportgen.AGENCY}{reportgen.YEAR}年政府信息公开工作年度报告"
    assert "一、本年新收政府信息公开申请数量 40 3 0 1 0 2 46" in texts


def test_damaged_pdf_is_still_a_typed_error() -> None:
    from services.extract.errors import CorruptDocument

    data = reportgen.pdf_bytes()
    with pytest.raises(CorruptDocument):
        pdf.read(data[: len(data) // 3])


@pytest.mark.parametrize("rotated", [False, True], ids=["pdfium-page", "pdfminer-page"])
def test_a_page_with_more_characters_than_any_report_is_refused_at_once(rotated: bool) -> None:
    """A broken or hostile content stream can hold a million characters on a
    page; pdfminer (the fallback for a page PDFium cannot describe, here a
    rotated one) would take minutes over it and end as a timeout."""
    import io
    import time

    from reportlab.pdfgen import canvas

    from services.extract.errors import DocumentTooLarge

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 700, "正常的第一页")
    c.showPage()
    if rotated:
        c.setPageRotation(90)
    text = c.beginText(0, 800)
    text.setFont("Helvetica", 1)
    for _ in range(pdf.MAX_PAGE_CHARS // 1000 + 1):
        text.textLine("9" * 1000)  # one more thousand than the limit allows
    c.drawText(text)
    c.showPage()
    c.save()
    started = time.process_time()
    with pytest.raises(DocumentTooLarge, match=r"page 2 holds \d+ characters"):
        pdf.read(out.getvalue())
    assert time.process_time() - started < 10  # refused before pdfminer parses it


def _per_character(page: object) -> list[tuple[object, ...]]:
    """Each kept character's text, font and size read from PDFium character
    by character (what pdf_objects reads once per text object)."""
    import ctypes
    import math

    import pypdfium2.raw as raw

    textpage = page.get_textpage()  # type: ignore[attr-defined]
    tp = textpage.raw
    rect, matrix, flags = raw.FS_RECTF(), raw.FS_MATRIX(), ctypes.c_int()
    name = ctypes.create_string_buffer(128)
    out = []
    for i in range(raw.FPDFText_CountChars(tp)):
        code = raw.FPDFText_GetUnicode(tp, i)
        if raw.FPDFText_IsGenerated(tp, i) or code in (0, 0xFFFE, 0xFFFF, 0x0D, 0x0A):
            continue
        assert raw.FPDFText_GetCharAngle(tp, i) <= 0.01
        if not raw.FPDFText_GetLooseCharBox(tp, i, rect):
            continue
        raw.FPDFText_GetMatrix(tp, i, matrix)
        size = raw.FPDFText_GetFontSize(tp, i) * math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
        got = raw.FPDFText_GetFontInfo(tp, i, name, len(name), ctypes.byref(flags))
        out.append((chr(code), name.value.decode() if got else "", size))
    textpage.close()
    return out


def test_font_and_size_read_once_per_text_object_as_per_character(corpus: Path) -> None:
    """pdf_objects reads a character's font, size and angle once per PDFium
    text object; read for every character they must be the same (a Word
    PDF with one object per character or so, and reportlab's with one per
    line)."""
    import pypdfium2 as pdfium

    from services.extract.engine.readers.pdf_objects import page_objects

    for data in ((corpus / "dev" / "dev-12.pdf").read_bytes(), reportgen.pdf_bytes()):
        doc = pdfium.PdfDocument(data)
        for i in range(len(doc)):
            objects = page_objects(doc[i], i + 1, 0.0)
            assert objects is not None
            ours = [(c["text"], c["fontname"], c["size"]) for c in objects["char"]]
            assert ours == _per_character(doc[i])
            assert ours
        doc.close()


def test_a_font_name_longer_than_the_buffer_is_read_whole() -> None:
    """PDFium copies nothing into a name buffer that is too small; the
    name must not be the previous font's nor empty."""
    import pypdfium2 as pdfium

    from services.extract.engine.readers.pdf_objects import page_objects

    long = "Long" + "X" * 200
    data = reportgen.pdf_bytes().replace(b"/BaseFont /STSong-Light", f"/BaseFont /{long}".encode())
    doc = pdfium.PdfDocument(data)
    objects = page_objects(doc[0], 1, 0.0)
    doc.close()
    assert objects is not None
    assert {c["fontname"] for c in objects["char"]} == {long}
