"""The PDF reader's table finding is pdfplumber's ``find_tables()`` with its
cell search rewritten (``_cells``) and skipped on pages without ruling
objects: the same tables, cell for cell, must come out."""

from __future__ import annotations

import io
import random

import pdfplumber
import reportgen
from pdfplumber.table import intersections_to_cells

from services.extract.engine.readers import pdf as pdf_reader


def _pages(data: bytes) -> list[object]:
    pdf = pdfplumber.open(io.BytesIO(data))
    pdf_reader._use_pdfium_objects(pdf, data)
    return [pdf_reader._dedupe_chars(p) for p in pdf.pages]


def _same_tables(data: bytes) -> int:
    cells = 0
    for page in _pages(data):
        theirs = page.find_tables()  # type: ignore[attr-defined]
        ours = pdf_reader._find_tables(page)
        assert [t.cells for t in ours] == [t.cells for t in theirs]
        cells += sum(len(t.cells) for t in theirs)
    return cells


def test_real_and_generated_pdfs_give_pdfplumbers_tables() -> None:
    from tests.accuracy.scoring import SHARED

    assert _same_tables((SHARED / "corpus" / "dev" / "dev-12.pdf").read_bytes()) > 300
    assert _same_tables(reportgen.pdf_bytes()) > 100
    assert _same_tables(reportgen.pdf_bytes(repeat_header=True)) > 100


def test_page_without_ruling_objects_has_no_table_and_the_same_text() -> None:
    data = reportgen.pdf_bytes(grid=False)
    pages = _pages(data)
    assert all(not (p.lines or p.rects or p.curves) for p in pages)  # type: ignore[attr-defined]
    assert all(p.find_tables() == [] for p in pages)  # type: ignore[attr-defined]
    assert all(pdf_reader._find_tables(p) == [] for p in pages)
    texts = [b.text for b in pdf_reader.read(data).blocks]
    assert any("本年新收政府信息公开申请数量" in t for t in texts)


def _random_grid_intersections(rnd: random.Random) -> dict[tuple[float, float], dict[str, list[object]]]:
    """Intersections of a ruled grid with some rules missing or broken, so
    that the smallest-cell search has to skip corners and merge cells."""
    xs = sorted(rnd.sample(range(50, 550, 10), rnd.randrange(2, 8)))
    ys = sorted(rnd.sample(range(50, 800, 10), rnd.randrange(2, 10)))
    edges: list[dict[str, object]] = []
    for x in xs:  # vertical rules, some in pieces
        cut = rnd.choice([None, *ys[1:-1]])
        for top, bottom in [(ys[0], cut), (cut, ys[-1])] if cut else [(ys[0], ys[-1])]:
            if rnd.random() < 0.85:
                edges.append({"x0": x, "x1": x, "top": top, "bottom": bottom, "orientation": "v"})
    for y in ys:
        cut = rnd.choice([None, *xs[1:-1]])
        for left, right in [(xs[0], cut), (cut, xs[-1])] if cut else [(xs[0], xs[-1])]:
            if rnd.random() < 0.85:
                edges.append({"x0": left, "x1": right, "top": y, "bottom": y, "orientation": "h"})
    from pdfplumber.table import edges_to_intersections

    return edges_to_intersections(edges, 3, 3)  # type: ignore[arg-type]


def test_cell_search_equals_pdfplumbers_on_random_broken_grids() -> None:
    rnd = random.Random(3)
    found = 0
    for _ in range(300):
        intersections = _random_grid_intersections(rnd)
        theirs = intersections_to_cells(intersections)
        assert pdf_reader._cells(intersections) == theirs
        found += len(theirs)
    assert found > 1000
