"""PDF via pdfplumber (pdfminer layout analysis plus ruling-line table
detection: recovering cells from positioned glyphs by hand would mean
re-writing both).

Text outside tables becomes paragraphs; table cells become cells, page by
page, so a table that continues on the next page simply continues in the
block stream. Faux-bold (every glyph printed twice at a small offset) is
removed with ``dedupe_chars``. A page without a text layer (a scan) is read
by OCR (readers/ocr.py) into the same objects, so its tables are found the
same way; its blocks carry the OCR confidence. Without Tesseract such a page
yields no blocks, and a PDF with no text at all ``has_text_layer=False``.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from typing import Any, cast

from services.extract.engine.document import UNREADABLE, Block, RawDocument
from services.extract.errors import CorruptDocument, DocumentTooLarge

MAX_PAGES = 300


_SENTENCE_END = ("。", "：", ":", "；", ";", "！", "？")
_HEADING = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+\s*[.、．]|第[一二三四五六七八九十]+|-\s*\d+\s*-)"
)


def _confidence(chars: list[dict]) -> float | None:  # type: ignore[type-arg]
    """The lowest OCR confidence of these characters' figures (of all of
    them when they have none: a stray mark OCR doubts says nothing about the
    figure beside it); None when none was OCR'd."""
    ocr_chars = [c for c in chars if "ocr_conf" in c]
    confs = [c["ocr_conf"] for c in ocr_chars if c["text"].isdigit()] or [c["ocr_conf"] for c in ocr_chars]
    return round(min(confs), 1) if confs else None


def _paragraphs(lines: list[dict]) -> list[tuple[float, str, float | None]]:  # type: ignore[type-arg]
    """Re-join lines that the PDF wrapped at the right margin, so a sentence
    broken across lines ("…在政" / "府网站…") is one sentence again. Short lines
    (titles, headings, the last line of a paragraph) end their paragraph."""
    if not lines:
        return []
    right = max(x["x1"] for x in lines)
    out: list[tuple[float, str, float | None]] = []
    cur: list[str] = []
    chars: list[dict] = []  # type: ignore[type-arg]
    top = 0.0
    for x in lines:
        text = x["text"]
        # a numbered heading ("6.") starts a paragraph, unless the line is a
        # wrapped row of run-together figures going on ("…信息0" / "0000006.属于")
        if cur and _HEADING.match(text) and not (cur[-1][-1:].isdigit() and text[:1].isdigit()):
            out.append((top, "".join(cur), _confidence(chars)))
            cur, chars = [], []
        if not cur:
            top = x["top"]
        cur.append(text)
        chars += x.get("chars", [])
        size = (x["bottom"] - x["top"]) or 10
        wrapped = x["x1"] >= right - 1.5 * size and not text.rstrip().endswith(_SENTENCE_END)
        if not wrapped:
            out.append((top, "".join(cur), _confidence(chars)))
            cur, chars = [], []
    if cur:
        out.append((top, "".join(cur), _confidence(chars)))
    return out


def _cell_confidence(page, box: tuple[float, float, float, float] | None) -> float | None:  # type: ignore[no-untyped-def]
    if box is None or not page.chars or "ocr_conf" not in page.chars[0]:
        return None
    x0, top, x1, bottom = box
    return _confidence(
        [
            c
            for c in page.chars
            if x0 <= (c["x0"] + c["x1"]) / 2 <= x1 and top <= (c["top"] + c["bottom"]) / 2 <= bottom
        ]
    )


def _use_pdfium_objects(pdf, data: bytes) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Give each pdfplumber page the objects PDFium reads (see pdf_objects),
    keeping pdfminer for the pages PDFium cannot describe or a file PDFium
    refuses. Returns the closer of the PDFium document.

    pdfplumber has no public way to hand a page its objects; it caches them in
    ``Page._objects``, which we fill. pyproject pins pdfplumber's minor version
    and tests/unit/extract/test_pdf_objects.py compares both paths, so an
    upgrade that changes this fails a test instead of misreading tables."""
    import pypdfium2 as pdfium

    from services.extract.engine.readers.pdf_objects import page_objects

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return lambda: None  # pdfminer alone decides whether the file is readable
    try:
        if len(doc) != len(pdf.pages):
            return cast("Callable[[], None]", doc.close)
        for i, page in enumerate(pdf.pages):
            objects = page_objects(doc[i], page.page_number, page.initial_doctop)
            if objects is not None:
                page._objects = objects
    except pdfium.PdfiumError:
        pass  # the pages not yet given objects fall back to pdfminer
    return cast("Callable[[], None]", doc.close)


def _ocr_pages(pages, data: bytes, warnings: list[str]) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Give every page without characters the objects OCR reads from its
    image. Returns the closer of the PDFium document it rendered from."""
    from services.extract.engine.readers import ocr

    blank = [page for page in pages if not page.chars]
    if not blank:
        return lambda: None
    if not ocr.available():
        warnings.append(f"{len(blank)} page(s) without a text layer and no OCR program (tesseract): not read")
        return lambda: None
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        warnings.append(f"{len(blank)} page(s) without a text layer, and PDFium cannot render the file: {e}")
        return lambda: None
    unsure = miscounted = 0
    for page in blank:

        def cells(lines, page=page):  # type: ignore[no-untyped-def]
            page._objects = {"char": [], "rect": [], "line": lines}
            return [c for t in page.find_tables() for c in t.cells]

        objects, doubts = ocr.page_objects(
            doc[page.page_number - 1], page.page_number, page.initial_doctop, cells
        )
        page._objects = objects  # as in _use_pdfium_objects
        unsure += doubts.unsure
        miscounted += doubts.miscounted
    numbers = [p.page_number for p in blank]
    warnings.append(
        f"page(s) {_ranges(numbers)} have no text layer: read by OCR "
        f"(tesseract {ocr.LANGUAGES}, {ocr.DPI} dpi); every figure's provenance gives its confidence"
    )
    if unsure:
        warnings.append(
            f"OCR: {unsure} word(s) with a figure read with confidence under {ocr.MIN_CONFIDENCE:g} "
            f"left unread ({UNREADABLE}); their figures are absent"
        )
    if miscounted:
        warnings.append(
            f"OCR: {miscounted} run(s) of figures whose digit count the page image contradicts and that a "
            "digit-by-digit reading could not settle: kept as read, for the table identities to confirm"
        )
    return cast("Callable[[], None]", doc.close)


def _dedupe_chars(page: Any) -> Any:
    """``page.dedupe_chars()`` (faux-bold doubles: the same character printed
    twice within 1 pt), the same characters in the same order, without
    pdfplumber's final ``sorted(deduped, key=chars.index)``: an O(n²)
    re-sort that cost about a tenth of a PDF's CPU (dev-12: 2,000 characters
    a page). Same grouping as pdfplumber 0.11's ``utils.dedupe_chars``."""
    import itertools
    from operator import itemgetter

    from pdfplumber.page import FilteredPage
    from pdfplumber.utils.clustering import cluster_objects

    chars = page.chars
    key = itemgetter("upright", "text", "fontname", "size")
    pos_key = itemgetter("doctop", "x0")
    kept = []
    for _, group in itertools.groupby(sorted(chars, key=key), key=key):
        for y_cluster in cluster_objects(list(group), itemgetter("doctop"), 1):
            for x_cluster in cluster_objects(y_cluster, itemgetter("x0"), 1):
                kept.append(min(x_cluster, key=pos_key))
    # each kept char's position in the page (chars.index gives the first *equal*
    # char's: an identical double is in its original's cluster, and the original is kept)
    first: dict[int, int] = {}
    for i, c in enumerate(chars):
        first.setdefault(id(c), i)
    deduped = FilteredPage(page, lambda x: True)
    deduped._objects = dict(page.objects)
    deduped._objects["char"] = sorted(kept, key=lambda c: first[id(c)])
    return deduped


class _CharsByMiddle:
    """A page's characters ordered by their vertical middle, to give
    pdfplumber's ``Table.extract()`` (the same cells, from the same
    characters in the same order) without testing every character of the
    page against every row of every table (~a quarter of a PDF's CPU)."""

    def __init__(self, chars: list[Any]) -> None:
        self.chars = chars
        middle = [(c["top"] + c["bottom"]) / 2 for c in chars]
        self.order = sorted(range(len(chars)), key=middle.__getitem__)
        self.middles = [middle[i] for i in self.order]

    def table_text(self, rows: list[Any]) -> list[list[str | None]]:
        from bisect import bisect_left

        from pdfplumber.utils.text import extract_text

        def inside(char: Any, box: tuple[float, float, float, float]) -> bool:
            # pdfplumber's char_in_bbox: the character's middle, right and bottom edges excluded
            v_mid = (char["top"] + char["bottom"]) / 2
            h_mid = (char["x0"] + char["x1"]) / 2
            x0, top, x1, bottom = box
            return bool((h_mid >= x0) and (h_mid < x1) and (v_mid >= top) and (v_mid < bottom))

        out: list[list[str | None]] = []
        for row in rows:
            top, bottom = row.bbox[1], row.bbox[3]
            near = sorted(self.order[bisect_left(self.middles, top) : bisect_left(self.middles, bottom)])
            row_chars = [self.chars[i] for i in near if inside(self.chars[i], row.bbox)]
            cells: list[str | None] = []
            for cell in row.cells:
                if cell is None:
                    cells.append(None)
                    continue
                cell_chars = [c for c in row_chars if inside(c, cell)]
                cells.append(extract_text(cell_chars) if cell_chars else "")
            out.append(cells)
        return out


def _ranges(numbers: list[int]) -> str:
    """1,2,3,5 -> '1-3, 5'."""
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def read(data: bytes, *, pdfium: bool = True, ocr: bool = True) -> RawDocument:
    """``pdfium=False`` reads every page through pdfminer alone (the reference
    the tests compare the fast path with); ``ocr=False`` leaves pages without
    a text layer unread."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    warnings: list[str] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = pdf.pages
    except PDFSyntaxError as e:
        raise CorruptDocument(f"pdf: not a readable PDF: {e}") from e
    except Exception as e:  # pdfminer raises many unrelated types on damaged files
        if "allocate" in str(e).lower():
            raise MemoryError(f"pdf: {e}") from e
        raise CorruptDocument(f"pdf: cannot open (truncated or damaged file): {type(e).__name__}: {e}") from e
    if len(pages) > MAX_PAGES:
        raise DocumentTooLarge(
            f"pdf: {len(pages)} pages, over the {MAX_PAGES}-page limit for an annual report"
        )
    blocks: list[Block] = []
    tno = 0
    chars = 0
    close_pdfium = _use_pdfium_objects(pdf, data) if pdfium else (lambda: None)

    def close_ocr() -> None:
        return None

    try:
        if ocr:
            close_ocr = _ocr_pages(pages, data, warnings)
        for pno, page in enumerate(pages, 1):
            page = _dedupe_chars(page)
            chars += len(page.chars)
            found = page.find_tables()
            boxes = [t.bbox for t in found]

            def outside(obj, boxes=boxes):  # type: ignore[no-untyped-def]
                x = (obj["x0"] + obj["x1"]) / 2
                y = (obj["top"] + obj["bottom"]) / 2
                return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

            items: list[tuple[float, list[Block]]] = []
            free = page.filter(outside) if boxes else page
            for top, text, conf in _paragraphs(free.extract_text_lines(keep_blank_chars=False) or []):
                items.append((top, [Block(text, page=pno, confidence=conf)]))
            by_middle = _CharsByMiddle(page.chars) if found else None
            for t in found:
                table_rows = t.rows  # a property that regroups the cells at every access
                assert by_middle is not None
                rows = by_middle.table_text(table_rows)
                tb: list[Block] = []
                for r, row in enumerate(rows):
                    boxes_of_row = table_rows[r].cells
                    out = [
                        Block(
                            c if c is not None else "",
                            page=pno,
                            table=tno,
                            row=r,
                            col=ci,
                            confidence=_cell_confidence(page, boxes_of_row[ci]),
                        )
                        for ci, c in enumerate(row)
                        if c is not None
                    ]
                    if out:
                        out[-1] = dataclasses.replace(out[-1], row_end=True)
                        tb.extend(out)
                items.append((t.bbox[1], tb))
                tno += 1
            items.sort(key=lambda x: x[0])
            for _, bl in items:
                blocks.extend(bl)
    except (DocumentTooLarge, MemoryError):
        raise
    except Exception as e:
        if "allocate" in str(e).lower() or "memory" in str(e).lower():
            raise MemoryError(f"pdf: {e}") from e  # the bounded runner reports it as ExtractionMemoryExceeded
        raise CorruptDocument(f"pdf: damaged content stream: {type(e).__name__}: {e}") from e
    finally:
        close_ocr()
        close_pdfium()
        pdf.close()
    return RawDocument(blocks=blocks, format="pdf", warnings=warnings, has_text_layer=chars > 0)
