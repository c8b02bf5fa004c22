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
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, cast

from services.extract.engine.document import UNREADABLE, Block, RawDocument
from services.extract.errors import CorruptDocument, DocumentTooLarge

MAX_PAGES = 300

# pdfminer logs a warning for every operator of a damaged content stream it
# skips (12,000 lines for one mutated page in the fuzz campaign): that floods
# the worker's log for one bad document. What matters is the document's
# outcome, logged once with its typed error or its warnings.
logging.getLogger("pdfminer").setLevel(logging.ERROR)
# A dense A4 page set in 6 pt holds ~14,000 characters, four times that with
# faux bold (each glyph drawn again, offset). A page with more is not a
# report page but a hostile or broken content stream, and pdfminer (the
# fallback for pages PDFium cannot describe) takes ~12 s of CPU per 100,000
# characters: past this, the document is refused at once instead of ending
# as a timeout a minute later.
MAX_PAGE_CHARS = 100_000


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


def _paragraphs(
    lines: list[dict],  # type: ignore[type-arg]
    right: float | None = None,
) -> list[tuple[float, str, float | None]]:
    """Re-join lines that the PDF wrapped at the right margin, so a sentence
    broken across lines ("…在政" / "府网站…") is one sentence again. Short lines
    (titles, headings, the last line of a paragraph) end their paragraph.
    ``right``: the right margin; by default the longest line's end."""
    if not lines:
        return []
    if right is None:
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
        if not _wrapped(x, right):
            out.append((top, "".join(cur), _confidence(chars)))
            cur, chars = [], []
    if cur:
        out.append((top, "".join(cur), _confidence(chars)))
    return out


def _wrapped(line: dict, right: float) -> bool:  # type: ignore[type-arg]
    """The line reaches the right margin without ending a sentence: the text goes on below."""
    size = (line["bottom"] - line["top"]) or 10
    return bool(line["x1"] >= right - 1.5 * size and not line["text"].rstrip().endswith(_SENTENCE_END))


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
            pdfium_page = doc[i]
            objects = page_objects(pdfium_page, page.page_number, page.initial_doctop)
            # PDFium's own count, for a page left to pdfminer (the slow path
            # must not start on a page too large for it)
            count = len(objects["char"]) if objects is not None else pdfium_page.get_textpage().count_chars()
            if count > MAX_PAGE_CHARS:
                doc.close()
                raise DocumentTooLarge(
                    f"pdf: page {page.page_number} holds {count} characters, over the "
                    f"{MAX_PAGE_CHARS}-character limit for a page (a broken or hostile content stream)"
                )
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
    traditional: list[int] = []
    no_traditional: list[int] = []
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
        if doubts.traditional:
            traditional.append(page.page_number)
        if doubts.no_traditional:
            no_traditional.append(page.page_number)
    numbers = [p.page_number for p in blank]
    warnings.append(
        f"page(s) {_ranges(numbers)} have no text layer: read by OCR "
        f"(tesseract {ocr.LANGUAGES}, {ocr.DPI} dpi); every figure's provenance gives its confidence"
    )
    if traditional:
        warnings.append(f"OCR: page(s) {_ranges(traditional)} read as traditional script ({ocr.TRADITIONAL})")
    if no_traditional:
        warnings.append(
            f"OCR: page(s) {_ranges(no_traditional)} look like traditional script but the {ocr.TRADITIONAL} "
            "model is not installed (Debian tesseract-ocr-chi-tra): read by the simplified model, "
            "more characters misread"
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
    a page). Same grouping as pdfplumber 0.11's ``utils.dedupe_chars``: the
    characters of equal (upright, text, fontname, size) clustered by doctop,
    then by x0 (1 pt apart at most), the first of each cluster at the least
    (doctop, x0) kept; a character alone in its group or cluster is kept
    without clustering (most characters of a page)."""
    from operator import itemgetter

    from pdfplumber.page import FilteredPage

    chars = page.chars
    if any(c["size"] != c["size"] or c["doctop"] != c["doctop"] or c["x0"] != c["x0"] for c in chars):
        # NaN (a damaged matrix) defeats sorting and dict lookups alike:
        # pdfplumber's own grouping decides what happens to such a page
        kept = _dedupe_as_pdfplumber(chars)
    else:
        key = itemgetter("upright", "text", "fontname", "size")
        groups: dict[Any, list[int]] = {}
        for i, c in enumerate(chars):
            groups.setdefault(key(c), []).append(i)
        kept = []
        for group in groups.values():
            if len(group) == 1:
                kept.append(group[0])
                continue
            for y_cluster in _clusters(group, [chars[i]["doctop"] for i in group]):
                if len(y_cluster) == 1:
                    kept.append(y_cluster[0])
                    continue
                for x_cluster in _clusters(y_cluster, [chars[i]["x0"] for i in y_cluster]):
                    # pdfplumber's min() keeps the first of equal positions: the index breaks the tie so
                    kept.append(min(x_cluster, key=lambda i: (chars[i]["doctop"], chars[i]["x0"], i)))
    kept.sort()
    deduped = FilteredPage(page, lambda x: True)
    deduped._objects = dict(page.objects)
    deduped._objects["char"] = [chars[i] for i in kept]
    return deduped


def _dedupe_as_pdfplumber(chars: list[Any]) -> list[int]:
    """The indices of the characters pdfplumber 0.11's ``dedupe_chars``
    keeps, computed its way (each at its first position in the page)."""
    import itertools
    from operator import itemgetter

    from pdfplumber.utils.clustering import cluster_objects

    key = itemgetter("upright", "text", "fontname", "size")
    pos_key = itemgetter("doctop", "x0")
    first: dict[int, int] = {}
    for i, c in enumerate(chars):
        first.setdefault(id(c), i)
    kept: list[int] = []
    for _, group in itertools.groupby(sorted(chars, key=key), key=key):
        for y_cluster in cluster_objects(list(group), itemgetter("doctop"), 1):
            for x_cluster in cluster_objects(y_cluster, itemgetter("x0"), 1):
                kept.append(first[id(min(x_cluster, key=pos_key))])
    return kept


def _clusters(items: list[int], values: list[float], tolerance: float = 1) -> list[list[int]]:
    """``items`` grouped as pdfplumber's ``cluster_list`` groups their
    ``values``: sorted, a new cluster wherever the next value is more than
    ``tolerance`` above the last one."""
    order = sorted(range(len(items)), key=values.__getitem__)
    out: list[list[int]] = []
    last = 0.0
    for k in order:
        v = values[k]
        if not out or v > last + tolerance:
            out.append([items[k]])
        else:
            out[-1].append(items[k])
        last = v
    return out


def _find_tables(page: Any) -> list[Any]:
    """``page.find_tables()`` (default settings: tables from ruling lines),
    with pdfplumber's cell search replaced by :func:`_cells` (the same
    cells), and not run at all on a page without lines, rectangles or
    curves: the ruling-line strategy finds no edge there, so no table."""
    from pdfplumber.table import Table, TableFinder, TableSettings, cells_to_tables, edges_to_intersections

    if not (page.lines or page.rects or page.curves):
        return []
    finder = TableFinder.__new__(TableFinder)  # TableFinder.__init__'s steps, one of them ours
    finder.page = page
    finder.settings = TableSettings.resolve(None)
    edges = _edges(page.edges)
    finder.edges = finder.get_edges() if edges is None else edges
    finder.intersections = edges_to_intersections(
        finder.edges, finder.settings.intersection_x_tolerance, finder.settings.intersection_y_tolerance
    )
    finder.cells = _cells(finder.intersections)
    finder.tables = [Table(page, group) for group in cells_to_tables(finder.cells)]
    return cast("list[Any]", finder.tables)


def _edges(edges: list[Any]) -> list[dict[str, Any]] | None:
    """``TableFinder.get_edges()`` under the default settings (ruling lines:
    edges under 1 pt dropped, snapped to the mean of their 3 pt clusters,
    joined along a line across gaps up to 3 pt, then those under 3 pt
    dropped), computed on small dicts (position, size, orientation: what
    the intersections and cells are made of) instead of pdfplumber's copy of
    every key of every edge at each step. The same arithmetic in the same
    order, so the same floats. None when a value is NaN: pdfplumber's own
    code decides then."""
    keys = ("x0", "x1", "top", "bottom", "width", "height")
    v: list[dict[str, Any]] = []
    h: list[dict[str, Any]] = []
    for e in edges:
        small = {k: e[k] for k in keys}
        if any(x != x for x in small.values()):
            return None
        small["orientation"] = e["orientation"]
        if e["orientation"] == "v" and e["height"] >= 1:
            v.append(small)
        elif e["orientation"] == "h" and e["width"] >= 1:
            h.append(small)
    snapped = _snap(v, "x0", "x1") + _snap(h, "top", "bottom")
    # groups of one orientation and position, in pdfplumber's sorted order
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for e in snapped:
        groups.setdefault((e["orientation"], e["top"] if e["orientation"] == "h" else e["x0"]), []).append(e)
    out: list[dict[str, Any]] = []
    for key in sorted(groups):
        if key[0] == "h":
            low, high, size = "x0", "x1", "width"
        else:
            low, high, size = "top", "bottom", "height"
        joined: list[dict[str, Any]] = []
        for e in sorted(groups[key], key=lambda e: e[low]):
            if joined and e[low] <= joined[-1][high] + 3:
                last = joined[-1]
                if e[high] > last[high]:
                    if e[high] < last[low]:
                        return None  # an inverted edge, on which resize_object asserts
                    # pdfplumber's resize_object: the new end, the size grown by as much
                    if high == "x1":
                        grown = {**last, "x1": e["x1"], "width": e["x1"] - last["x0"]}
                    else:
                        grown = {
                            **last,
                            "bottom": e["bottom"],
                            "height": last["height"] + (e["bottom"] - last["bottom"]),
                        }
                    joined[-1] = grown
            else:
                joined.append(e)
        out.extend(j for j in joined if j[size] >= 3)
    return out


def _snap(edges: list[dict[str, Any]], attr: str, other: str) -> list[dict[str, Any]]:
    """pdfplumber's ``snap_objects`` on ``attr`` (3 pt): clusters in value
    order, each edge moved by the cluster's mean minus its own value (its
    other end too), the mean summed in cluster order."""
    out: list[dict[str, Any]] = []
    for cluster in _clusters(list(range(len(edges))), [e[attr] for e in edges], 3):
        cluster.sort()  # pdfplumber keeps the edges' order within a cluster
        members = [edges[i] for i in cluster]
        mean = sum(e[attr] for e in members) / len(members)
        for e in members:
            shift = mean - e[attr]
            out.append({**e, attr: e[attr] + shift, other: e[other] + shift})
    return out


def _cells(
    intersections: dict[tuple[float, float], dict[str, list[Any]]],
) -> list[tuple[float, float, float, float]]:
    """pdfplumber 0.11's ``intersections_to_cells``: for each intersection
    (in sorted order), the smallest rectangle whose four corners are
    intersections joined by a common edge. pdfplumber rebuilt the edge sets
    of both points for every pair it tried and scanned every later point for
    the ones below and to the right (~10 % of a PDF's CPU); here each point's
    edge sets are built once and the points are indexed by column and row."""
    from pdfplumber.table import intersections_to_cells
    from pdfplumber.utils.geometry import obj_to_bbox

    points = sorted(intersections)
    if any(x != x or y != y for x, y in points):
        return cast("list[tuple[float, float, float, float]]", intersections_to_cells(intersections))  # NaN
    v_edges = {p: {obj_to_bbox(e) for e in intersections[p]["v"]} for p in points}
    h_edges = {p: {obj_to_bbox(e) for e in intersections[p]["h"]} for p in points}
    column: dict[float, list[tuple[float, float]]] = {}
    row: dict[float, list[tuple[float, float]]] = {}
    for p in points:  # sorted by (x, y): a column top to bottom, a row left to right
        column.setdefault(p[0], []).append(p)
        row.setdefault(p[1], []).append(p)

    def connected(p1: tuple[float, float], p2: tuple[float, float]) -> bool:
        return bool(
            (p1[0] == p2[0] and not v_edges[p1].isdisjoint(v_edges[p2]))
            or (p1[1] == p2[1] and not h_edges[p1].isdisjoint(h_edges[p2]))
        )

    cells: list[tuple[float, float, float, float]] = []
    for pt in points:
        same_x, same_y = column[pt[0]], row[pt[1]]
        below = same_x[same_x.index(pt) + 1 :]
        right = same_y[same_y.index(pt) + 1 :]
        cell = None
        for below_pt in below:
            if not connected(pt, below_pt):
                continue
            for right_pt in right:
                if not connected(pt, right_pt):
                    continue
                corner = (right_pt[0], below_pt[1])
                if corner in v_edges and connected(corner, right_pt) and connected(corner, below_pt):
                    cell = (pt[0], pt[1], corner[0], corner[1])
                    break
            if cell is not None:
                break
        if cell is not None:
            cells.append(cell)
    return cells


class _CharsByMiddle:
    """A page's characters ordered by their vertical middle, to give
    pdfplumber's ``Table.extract()`` (the same cells, from the same
    characters in the same order) without testing every character of the
    page against every row of every table (~a quarter of a PDF's CPU)."""

    def __init__(self, chars: list[Any]) -> None:
        self.chars = chars
        # both middles once per character, not once per row and cell tested
        self.v_mid = [(c["top"] + c["bottom"]) / 2 for c in chars]
        self.h_mid = [(c["x0"] + c["x1"]) / 2 for c in chars]
        self.order = sorted(range(len(chars)), key=self.v_mid.__getitem__)
        self.middles = [self.v_mid[i] for i in self.order]

    def table_text(self, rows: list[Any]) -> list[list[str | None]]:
        from bisect import bisect_left

        from pdfplumber.utils.text import LIGATURES, extract_text

        v_mid, h_mid, chars = self.v_mid, self.h_mid, self.chars

        def inside(i: int, box: tuple[float, float, float, float]) -> bool:
            # pdfplumber's char_in_bbox: the character's middle, right and bottom edges excluded
            x0, top, x1, bottom = box
            return bool((h_mid[i] >= x0) and (h_mid[i] < x1) and (v_mid[i] >= top) and (v_mid[i] < bottom))

        out: list[list[str | None]] = []
        for row in rows:
            top, bottom = row.bbox[1], row.bbox[3]
            near = sorted(self.order[bisect_left(self.middles, top) : bisect_left(self.middles, bottom)])
            row_chars = [i for i in near if inside(i, row.bbox)]
            cells: list[str | None] = []
            for cell in row.cells:
                if cell is None:
                    cells.append(None)
                    continue
                cell_chars = [chars[i] for i in row_chars if inside(i, cell)]
                if not cell_chars:
                    cells.append("")
                elif len(cell_chars) == 1 and cell_chars[0]["upright"] and cell_chars[0]["text"].strip():
                    # one upright printing character (half of a report's cells: "0"):
                    # extract_text makes it one word, its ligature expanded
                    text = cell_chars[0]["text"]
                    cells.append(LIGATURES.get(text, text))
                else:
                    line = _one_line_text(cell_chars)
                    cells.append(extract_text(cell_chars) if line is None else line)
            out.append(cells)
        return out


def _one_line_text(chars: list[Any]) -> str | None:
    """What pdfplumber's ``extract_text`` (default settings) gives for
    upright printing characters whose tops lie within its 3 pt line
    tolerance, without its general machinery: one line, the characters by
    x0, a word wherever the next one starts before the last one or more
    than 3 pt after its end (or 3 pt above or below it), the words joined by
    a space and ligatures expanded. None for any other cell (blank or
    rotated characters, NaN, more than one line): extract_text reads it."""
    import itertools

    from pdfplumber.utils.text import LIGATURES

    tops = [c["top"] for c in chars]
    low, high = min(tops), max(tops)
    if not high <= low + 3:  # also NaN
        return None
    for c in chars:
        if not (c["upright"] and c["text"].strip() and c["x0"] == c["x0"] and c["x1"] == c["x1"]):
            return None
    ordered = sorted(chars, key=lambda c: c["x0"])
    words = [[ordered[0]]]
    for prev, char in itertools.pairwise(ordered):
        if char["x0"] < prev["x0"] or char["x0"] > prev["x1"] + 3 or abs(char["top"] - prev["top"]) > 3:
            words.append([char])
        else:
            words[-1].append(char)
    return " ".join("".join(LIGATURES.get(c["text"], c["text"]) for c in word) for word in words)


def _scan_right_gap(pages: Iterable[tuple[float, list[dict[str, Any]]]]) -> float | None:
    """The right margin of scanned pages, as the width left after the
    longest line of any of them (``(page width, text lines)`` each): a scan's
    pages share one layout. The longest line of a page alone is no margin on
    a page of short lines (seed 004: a table flattened to one cell a line,
    where the longest label then looked wrapped and took the figure below
    it). None without scanned pages."""
    gaps = [width - max(x["x1"] for x in lines) for width, lines in pages if lines]
    return min(gaps) if gaps else None


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
        # two passes: the paragraphs of a scanned page need the right margin of all
        # the scanned pages (see _scan_right_gap); a page with a text layer is read
        # whole in the first, as it always was, and only its blocks are kept
        pending: list[tuple[int, float, list[tuple[float, list[Block]]], list[dict[str, Any]] | None]] = []
        scanned: dict[int, tuple[float, list[dict[str, Any]]]] = {}
        for pno, page in enumerate(pages, 1):
            page = _dedupe_chars(page)
            chars += len(page.chars)
            found = _find_tables(page)
            boxes = [t.bbox for t in found]

            def outside(obj, boxes=boxes):  # type: ignore[no-untyped-def]
                x = (obj["x0"] + obj["x1"]) / 2
                y = (obj["top"] + obj["bottom"]) / 2
                return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

            items: list[tuple[float, list[Block]]] = []
            free = page.filter(outside) if boxes else page
            lines = free.extract_text_lines(keep_blank_chars=False) or []
            is_scan = bool(page.chars and "ocr_conf" in page.chars[0] and lines)
            if is_scan:
                scanned[pno] = (float(page.width), lines)
            else:
                for top, text, conf in _paragraphs(lines):
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
            pending.append((pno, float(page.width), items, lines if is_scan else None))
        right_gap = _scan_right_gap(scanned.values())
        open_end: Block | None = None  # the last paragraph of the page before, when it goes on
        for pno, width, items, scan_lines in pending:
            right = None
            if scan_lines is not None and right_gap is not None:
                right = width - right_gap
                # before the tables, as on a page with a text layer (equal tops keep that order)
                items[:0] = [
                    (top, [Block(text, page=pno, confidence=conf)])
                    for top, text, conf in _paragraphs(scan_lines, right)
                ]
            items.sort(key=lambda x: x[0])
            if open_end is not None and items and items[0][1][0].table is None:
                # a scanned page's paragraph wrapped at its last line goes on at the top of the
                # next (dev-07: the label 同意公开答复数 broken as "同意公" / "开答复数")
                first = items.pop(0)[1][0]
                confs = [c for c in (open_end.confidence, first.confidence) if c is not None]
                blocks[-1] = dataclasses.replace(  # open_end: nothing came after it
                    open_end, text=open_end.text + first.text, confidence=min(confs) if confs else None
                )
            for _, bl in items:
                blocks.extend(bl)
            open_end = None
            if (
                right is not None
                and scan_lines
                and items
                and items[-1][1][0].table is None
                and _wrapped(scan_lines[-1], right)
            ):
                open_end = items[-1][1][0]
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
