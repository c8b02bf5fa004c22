"""A PDF page's characters and ruling lines read by PDFium, in pdfplumber's
object format.

pdfplumber finds tables and text lines well, but it gets its objects from
pdfminer, whose pure-Python content-stream interpreter is about 80 % of the
time a report PDF takes (0.45 s of 0.58 s for a five-page gb2021 report).
PDFium (C++, shipped in the ``pypdfium2`` wheel pdfplumber already depends
on) reads the same page in a few milliseconds. This module turns what PDFium
sees into the dicts pdfplumber's table finder and text-line grouping use, so
the geometry code stays pdfplumber's and only the parsing changes.

A page PDFium cannot describe faithfully in that format (rotated page or
text, form XObjects whose nested transforms we would have to compose, a
crop box that does not start at the origin, characters without a Unicode
mapping) returns ``None`` and the caller keeps pdfminer for that page: slower,
never wrong.
"""

from __future__ import annotations

import ctypes
import itertools
import math
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as raw

Objects = dict[str, list[dict[str, Any]]]

# The characters PDFium's text page invents (line ends, spaces it infers from
# gaps) are marked "generated"; pdfminer never emits them, and pdfplumber
# infers spaces itself.
_AXIS_TOLERANCE = 0.5  # a segment this close to horizontal/vertical is a ruling line


def page_objects(page: pdfium.PdfPage, page_number: int, doctop: float) -> Objects | None:
    """``{"char": [...], "rect": [...], "line": [...]}`` for one page, or None
    when the page needs pdfminer (see the module docstring)."""
    if page.get_rotation() % 360:
        return None
    x0, y0, _x1, y1 = page.get_cropbox()
    mx0, my0, _mx1, _my1 = page.get_mediabox()
    if (x0, y0, mx0, my0) != (0, 0, 0, 0):
        return None
    height = y1
    chars = _chars(page, page_number, doctop, height)
    if chars is None:
        return None
    shapes = _shapes(page, page_number, doctop, height)
    if shapes is None:
        return None
    rects, lines = shapes
    return {"char": chars, "rect": rects, "line": lines}


def _by_address(function: Any) -> Any:
    """A PDFium function of the ``raw`` bindings taking and returning handles
    as plain integers. The bindings wrap every handle returned in a typed
    ctypes pointer and type-check every one passed: for the thousands of
    calls a page takes (one object and several characters' properties at a
    time) that was most of their cost, and a handle as a dict key needed
    ``ctypes.cast`` besides. The same C function, called the same way."""

    def plain(t: Any) -> Any:
        return ctypes.c_void_p if t is not None and issubclass(t, ctypes._Pointer) else t

    prototype = ctypes.CFUNCTYPE(plain(function.restype), *map(plain, function.argtypes))
    address = ctypes.cast(function, ctypes.c_void_p).value
    if address is None:  # a binding without its symbol: pypdfium2 would fail the same way
        raise ImportError(f"pypdfium2: {function!r} has no address")
    return prototype(address)


_text_object = _by_address(raw.FPDFText_GetTextObject)
_object_font = _by_address(raw.FPDFTextObj_GetFont)
_is_generated = _by_address(raw.FPDFText_IsGenerated)
_map_error = _by_address(raw.FPDFText_HasUnicodeMapError)
_unicode = _by_address(raw.FPDFText_GetUnicode)
_loose_box = _by_address(raw.FPDFText_GetLooseCharBox)
_page_object = _by_address(raw.FPDFPage_GetObject)
_object_type = _by_address(raw.FPDFPageObj_GetType)
_object_matrix = _by_address(raw.FPDFPageObj_GetMatrix)
_segment_count = _by_address(raw.FPDFPath_CountSegments)
_segment = _by_address(raw.FPDFPath_GetPathSegment)
_segment_point = _by_address(raw.FPDFPathSegment_GetPoint)
_segment_type = _by_address(raw.FPDFPathSegment_GetType)
_segment_closes = _by_address(raw.FPDFPathSegment_GetClose)


def _chars(
    page: pdfium.PdfPage, page_number: int, doctop: float, height: float
) -> list[dict[str, Any]] | None:
    textpage = page.get_textpage()
    tp = textpage.raw
    handle = ctypes.cast(tp, ctypes.c_void_p).value
    try:
        n = raw.FPDFText_CountChars(tp)
        rect = raw.FS_RECTF()
        name_buf = ctypes.create_string_buffer(128)
        flags = ctypes.c_int()
        matrix = raw.FS_MATRIX()
        ox, oy = ctypes.c_double(), ctypes.c_double()
        # PDFium gives every character of a text object that object's font,
        # Tf size, matrix and so angle (CPDF_TextPage copies them from the
        # object), so they are read once per object: (angle, size, font).
        # tests/unit/extract/test_pdf_objects.py reads them per character
        # and compares.
        per_object: dict[int, tuple[float, float, str | None]] = {}
        fonts: dict[int, str] = {}
        rect_address = ctypes.addressof(rect)
        out: list[dict[str, Any]] = []
        for i in range(n):
            if _is_generated(handle, i):
                continue
            if _map_error(handle, i):
                return None  # a glyph without a Unicode mapping: pdfminer may still map it
            code = _unicode(handle, i)
            if code in (0, 0xFFFE, 0xFFFF) or code == 0x0D or code == 0x0A:
                continue
            key = _text_object(handle, i) or 0
            known = per_object.get(key) if key else None
            if known is None:
                # The size as printed: Tf's size scaled by the text matrix (PDFium's
                # FPDFText_GetFontSize is Tf's alone).
                raw.FPDFText_GetMatrix(tp, i, matrix)
                size = raw.FPDFText_GetFontSize(tp, i) * math.sqrt(
                    abs(matrix.a * matrix.d - matrix.b * matrix.c)
                )
                known = (raw.FPDFText_GetCharAngle(tp, i), size, None)
                if key:
                    per_object[key] = known
            angle, size, font = known
            if angle > 0.01:
                return None  # rotated text: pdfminer's "upright" handling is the reference
            if not _loose_box(handle, i, rect_address):
                continue
            left, right, low, high = rect.left, rect.right, rect.bottom, rect.top
            if size and (right - left > 2 * size or high - low > 2 * size):
                # PDFium's loose box ignores the text matrix for some vertical
                # fonts (a 10 pt glyph boxed 200 pt wide); pdfminer boxes such a
                # glyph as one em from its origin, and so do we.
                raw.FPDFText_GetCharOrigin(tp, i, ctypes.byref(ox), ctypes.byref(oy))
                left, right, low, high = ox.value, ox.value + size, oy.value, oy.value + size
            if font is None:
                # font names identify faux-bold duplicates for dedupe_chars. The
                # name is the font's (FPDFText_GetFontInfo reads the character's
                # object's font), so it is read once per font: a Word PDF has a
                # text object for nearly every character, and a handful of fonts.
                font_key = _object_font(key) if key else None
                font = fonts.get(font_key) if font_key else None
                if font is None:
                    got = raw.FPDFText_GetFontInfo(tp, i, name_buf, len(name_buf), ctypes.byref(flags))
                    if got > len(name_buf):  # PDFium copies nothing into a buffer too small
                        name_buf = ctypes.create_string_buffer(got)
                        got = raw.FPDFText_GetFontInfo(tp, i, name_buf, len(name_buf), ctypes.byref(flags))
                    font = name_buf.value.decode("utf-8", "replace") if got else ""
                    if font_key:
                        fonts[font_key] = font
                if key:
                    per_object[key] = (angle, size, font)
            top = height - high
            bottom = height - low
            out.append(
                {
                    "object_type": "char",
                    "page_number": page_number,
                    "text": chr(code),
                    "fontname": font,
                    "size": size,
                    "upright": True,
                    "x0": left,
                    "x1": right,
                    "y0": low,
                    "y1": high,
                    "top": top,
                    "bottom": bottom,
                    "doctop": doctop + top,
                    "width": right - left,
                    "height": high - low,
                }
            )
        return out
    finally:
        textpage.close()


def _shapes(
    page: pdfium.PdfPage, page_number: int, doctop: float, height: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """Axis-aligned rectangles and line segments of every path on the page.

    Only straight horizontal and vertical pieces matter to a table finder
    that works from ruling lines; curves are left out."""
    rects: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    px, py = ctypes.c_float(), ctypes.c_float()
    px_at, py_at = ctypes.addressof(px), ctypes.addressof(py)
    matrix = raw.FS_MATRIX()
    matrix_at = ctypes.addressof(matrix)
    moveto, lineto = raw.FPDF_SEGMENT_MOVETO, raw.FPDF_SEGMENT_LINETO
    page_handle = ctypes.cast(page.raw, ctypes.c_void_p).value
    # raw calls, not page.get_objects(): a report page holds hundreds of text
    # objects, and wrapping each one in Python costs more than reading the paths
    for index in range(raw.FPDFPage_CountObjects(page.raw)):
        obj = _page_object(page_handle, index)
        kind = _object_type(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            return None  # nested transforms: let pdfminer compose them
        if kind != raw.FPDF_PAGEOBJ_PATH or not _object_matrix(obj, matrix_at):
            continue
        a, b, c, d, e, f = matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f
        subpaths: list[list[tuple[float, float]]] = []
        closed: list[bool] = []
        # a subpath with a Bézier piece is no ruling line, nor one with a
        # point at NaN (an infinite matrix entry times 0)
        curved: list[bool] = []
        for s in range(_segment_count(obj)):
            seg = _segment(obj, s)
            _segment_point(seg, px_at, py_at)
            x, y = px.value, py.value
            ptx, pty = a * x + c * y + e, b * x + d * y + f
            segment = _segment_type(seg)
            if segment == moveto or not subpaths:
                subpaths.append([(ptx, pty)])
                closed.append(False)
                curved.append(ptx != ptx or pty != pty)
            elif segment == lineto:
                subpaths[-1].append((ptx, pty))
                if ptx != ptx or pty != pty:
                    curved[-1] = True
            else:
                curved[-1] = True
            if _segment_closes(seg):
                closed[-1] = True
        for pts, is_closed, is_curved in zip(subpaths, closed, curved, strict=True):
            if is_curved:
                continue
            box = _rectangle(pts)
            if box is not None:
                rects.append(_obj("rect", page_number, doctop, height, *box))
                continue
            ring = pts + [pts[0]] if is_closed and len(pts) > 2 else pts
            for (xa, ya), (xb, yb) in itertools.pairwise(ring):
                if abs(ya - yb) <= _AXIS_TOLERANCE or abs(xa - xb) <= _AXIS_TOLERANCE:
                    lines.append(
                        _obj(
                            "line",
                            page_number,
                            doctop,
                            height,
                            min(xa, xb),
                            min(ya, yb),
                            max(xa, xb),
                            max(ya, yb),
                        )
                    )
    return rects, lines


def _rectangle(pts: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    """The box of a subpath that is an axis-aligned rectangle (4 corners, or 5
    with the first repeated), else None."""
    if len(pts) == 5 and pts[0] == pts[4]:
        pts = pts[:4]
    if len(pts) != 4:
        return None
    xs = sorted({round(x, 2) for x, _ in pts})
    ys = sorted({round(y, 2) for _, y in pts})
    if len(xs) != 2 or len(ys) != 2:
        return None
    for (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1], strict=True):
        if abs(xa - xb) > _AXIS_TOLERANCE and abs(ya - yb) > _AXIS_TOLERANCE:
            return None  # a diagonal edge: a rhombus, not a rectangle
    return xs[0], ys[0], xs[1], ys[1]


def _obj(
    kind: str, page_number: int, doctop: float, height: float, x0: float, y0: float, x1: float, y1: float
) -> dict[str, Any]:
    top = height - y1
    bottom = height - y0
    return {
        "object_type": kind,
        "page_number": page_number,
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "top": top,
        "bottom": bottom,
        "doctop": doctop + top,
        "width": x1 - x0,
        "height": y1 - y0,
        "pts": [(x0, top), (x1, bottom)]
        if kind == "line"
        else [(x0, top), (x1, top), (x1, bottom), (x0, bottom)],
        "stroke": True,
        "fill": kind == "rect",
        "linewidth": 0,
    }
