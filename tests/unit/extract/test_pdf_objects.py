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
