"""The PDF reader's table finding is pdfplumber's ``find_tables()`` with its
cell search rewritten (``_cells``) and skipped on pages without ruling
objects: the same tables, cell for cell, must come out."""

from __future__ import annotations

import io
import random

import pdfplumber
import reportgen
from pdfplumber.table import TableFinder, TableSettings, intersections_to_cells

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


def _shape(edges: list[dict[str, object]]) -> list[tuple[object, ...]]:
    keys = ("x0", "top", "x1", "bottom", "width", "height", "orientation")
    return [tuple(e[k] for k in keys) for e in edges]


def _theirs(page: object) -> list[dict[str, object]]:
    finder = TableFinder.__new__(TableFinder)
    finder.page = page  # type: ignore[assignment]
    finder.settings = TableSettings.resolve(None)
    return finder.get_edges()


def test_edges_equal_pdfplumbers_on_real_pages() -> None:
    from tests.accuracy.scoring import SHARED

    n = 0
    for data in ((SHARED / "corpus" / "dev" / "dev-12.pdf").read_bytes(), reportgen.pdf_bytes()):
        for page in _pages(data):
            ours = pdf_reader._edges(page.edges)  # type: ignore[attr-defined]
            assert ours is not None
            assert _shape(ours) == _shape(_theirs(page))
            n += len(ours)
    assert n > 100


def test_edges_equal_pdfplumbers_on_random_ruling() -> None:
    """Rules crowded around the 3 pt snap and join tolerances and the 1 and
    3 pt length limits: snapped to the same means, joined the same way, the
    same floats."""
    rnd = random.Random(5)
    with pdfplumber.open(io.BytesIO(reportgen.pdf_bytes())) as pdf:
        page = pdf.pages[0]
        kept = 0
        for _ in range(200):
            lines = []
            for _ in range(rnd.randrange(1, 40)):
                a = rnd.choice((100.0, 101.7, 103.0, 104.5, 130.0)) + rnd.random() * 0.01
                b = rnd.choice((50.0, 52.5, 55.0, 58.1, 90.0, 300.0))
                length = rnd.choice((0.5, 1.0, 2.0, 2.9, 3.0, 3.1, 20.0, 100.0))
                horizontal = rnd.random() < 0.5
                x0, top = (b, a) if horizontal else (a, b)
                x1, bottom = (b + length, a) if horizontal else (a, b + length)
                lines.append(
                    {"object_type": "line", "x0": x0, "x1": x1, "top": top, "bottom": bottom}
                    | {
                        "doctop": top,
                        "y0": 842 - bottom,
                        "y1": 842 - top,
                        "width": x1 - x0,
                        "height": bottom - top,
                    }
                    | {
                        "pts": [(x0, top), (x1, bottom)],
                        "stroke": True,
                        "fill": False,
                        "linewidth": 1,
                        "page_number": 1,
                    }
                )
            page._objects = {"char": [], "rect": [], "line": lines}
            for attr in ("_edges", "_rect_edges", "_curve_edges"):
                page.__dict__.pop(attr, None)
            ours = pdf_reader._edges(page.edges)
            assert ours is not None
            assert _shape(ours) == _shape(_theirs(page))
            kept += len(ours)
    assert kept > 500
