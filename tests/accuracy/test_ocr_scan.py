"""OCR on a scan: two pages of the shared corpus's gb2021 PDF (dev-12, the
application table across a page break) rasterised at 300 dpi into an
image-only PDF, so every figure comes from OCR. Each figure read must equal
the hand-checked truth (nothing wrong, nothing invented), most of the
table's figures must be read, and each says it was read by OCR with its
confidence. The whole corpus at 150 and 300 dpi: ``make bench-ocr``."""

from __future__ import annotations

import io
import json

from services.extract.engine import extract
from services.extract.engine.readers import ocr
from tests.accuracy.scoring import SHARED

PDF = SHARED / "corpus" / "dev" / "dev-12.pdf"
PAGES = (2, 3)  # 0-based: the application table, cut by the page break


def _scan(pages: tuple[int, ...], dpi: int = 300) -> bytes:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(PDF.read_bytes())
    images = [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in pages]
    doc.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=dpi, quality=85)
    return out.getvalue()


def test_scanned_application_table_read_by_ocr_nothing_invented() -> None:
    truth = json.loads((SHARED / "corpus" / "dev" / "truth.json").read_text())["reports"]["dev-12.pdf"]
    assert ocr.available(), "tesseract is installed by make install (deploy/apt-packages.txt)"
    report = extract(_scan(PAGES), filename="dev-12.scan.pdf")

    assert any("read by OCR" in w for w in report.warnings)
    wrong = {
        k: (v, truth["metrics"][k])
        for k, v in report.metrics.items()
        if k in truth["metrics"] and v != truth["metrics"][k]
    }
    wrong.update(
        {
            f"{k}[{c}]": (v, truth["breakdown"][k][c])
            for k, cols in report.breakdown.items()
            for c, v in cols.items()
            if c in truth.get("breakdown", {}).get(k, {}) and v != truth["breakdown"][k][c]
        }
    )
    assert wrong == {}
    apps = [k for k in truth["metrics"] if k.startswith("applications.")]
    read = [k for k in apps if k in report.metrics]
    assert len(read) >= 0.9 * len(apps), sorted(set(apps) - set(read))
    for key in read:
        p = report.provenance[key]
        assert p.via == "ocr", key
        if p.span is not None:
            assert p.confidence is not None and ocr.MIN_CONFIDENCE <= p.confidence <= 100, key


def test_a_run_of_equal_digits_read_short_is_recounted_glyph_by_glyph() -> None:
    """Tesseract's line model reads "0000000" as "000000" at high
    confidence (the crawler's run-together table cells, dev-08 to dev-13):
    the page image has seven glyphs, so the run is read again digit by digit
    and the word gets all seven. A count the image confirms is left as
    read."""
    import numpy as np

    from tests.unit.extract.test_ocr_glyphs import _ink_rows, _line

    ink, spans = _line(["#", "0000000", "#", "1000001", "#"])
    image = np.where(ink, 0, 255).astype(np.uint8)
    top, bottom = _ink_rows(ink)

    def word(text: str, span: tuple[int, int]) -> ocr.Word:
        return ocr.Word(text, span[0], top, span[1] - span[0], bottom - top, 97.0, top, bottom - top)

    words = [word("000000", spans[1]), word("1000001", spans[3])]
    out, miscounted = ocr.recount(words, image)
    assert [w.text for w in out] == ["0000000", "1000001"]
    assert out[1] is words[1]  # its count agreed: not read again
    assert out[0].conf >= ocr.MIN_CONFIDENCE and miscounted == 0


def test_a_run_boxed_by_its_bracket_alone_is_found_before_the_box_and_read() -> None:
    """Tesseract sometimes boxes "0000000（" around the bracket alone, unsure
    (dev-10, dev-11: confidence 36-45, so the figures were left unread): the
    run is just before the box, and is read glyph by glyph by both models."""
    import numpy as np

    from tests.unit.extract.test_ocr_glyphs import _ink_rows, _line

    ink, spans = _line(["#", "0000000", "(", "#"])
    image = np.where(ink, 0, 255).astype(np.uint8)
    top, bottom = _ink_rows(ink)
    word = ocr.Word(
        "0000000(", spans[2][0], top, spans[2][1] - spans[2][0], bottom - top, 45.0, top, bottom - top
    )
    out, miscounted = ocr.recount([word], image)
    assert [w.text for w in out] == ["0000000("]
    assert out[0].conf >= ocr.MIN_CONFIDENCE and out[0].left <= spans[1][0] + 3 and miscounted == 0
