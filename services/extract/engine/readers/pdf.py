"""PDF via pdfplumber (pdfminer layout analysis plus ruling-line table
detection: recovering cells from positioned glyphs by hand would mean
re-writing both).

Text outside tables becomes paragraphs; table cells become cells, page by
page, so a table that continues on the next page simply continues in the
block stream. Faux-bold (every glyph printed twice at a small offset) is
removed with ``dedupe_chars``. A PDF without a text layer is not an error:
it yields no blocks and ``has_text_layer=False``.
"""

from __future__ import annotations

import io

from services.extract.engine.document import Block, RawDocument
from services.extract.errors import CorruptDocument, DocumentTooLarge

MAX_PAGES = 300


def read(data: bytes) -> RawDocument:
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
        raise CorruptDocument(f"pdf: cannot open: {type(e).__name__}: {e}") from e
    if len(pages) > MAX_PAGES:
        raise DocumentTooLarge(f"pdf: {len(pages)} pages, over the {MAX_PAGES}-page limit for an annual report")
    blocks: list[Block] = []
    tno = 0
    chars = 0
    try:
        for pno, page in enumerate(pages, 1):
            page = page.dedupe_chars()
            chars += len(page.chars)
            found = page.find_tables()
            boxes = [t.bbox for t in found]

            def outside(obj, boxes=boxes):  # type: ignore[no-untyped-def]
                x = (obj["x0"] + obj["x1"]) / 2
                y = (obj["top"] + obj["bottom"]) / 2
                return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

            items: list[tuple[float, list[Block]]] = []
            free = page.filter(outside) if boxes else page
            for line in free.extract_text_lines(keep_blank_chars=False) or []:
                items.append((line["top"], [Block(line["text"], page=pno)]))
            for t in found:
                rows = t.extract()
                tb: list[Block] = []
                for r, row in enumerate(rows):
                    out = [Block(c if c is not None else "", page=pno, table=tno, row=r, col=ci)
                           for ci, c in enumerate(row) if c is not None]
                    if out:
                        last = out[-1]
                        out[-1] = Block(last.text, page=pno, table=tno, row=r, col=last.col, row_end=True)
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
        pdf.close()
    return RawDocument(blocks=blocks, format="pdf", warnings=warnings, has_text_layer=chars > 0)
