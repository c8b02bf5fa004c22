"""Structural limits checked on the raw markup, before a parser builds a
tree: a few cheap passes in C (regular expressions) that refuse shapes whose
reading would cost far more than their size suggests.

Tables nested thousands deep are one: each level is rendered as a layout
table around the next, and 5,000 levels took 18 s before the recursion
limit refused them. Real reports nest layout tables a handful deep.
(DOCX needs no nesting pass: libxml2 refuses XML nested deeper than 256
elements when python-docx opens the part. Its cell spans are clamped.)
"""

from __future__ import annotations

import re

from services.extract.errors import CorruptDocument

MAX_TABLE_NESTING = 32
# A table cell spans at most this many grid columns (Word's own limit is 63).
# python-docx yields a spanning cell once per column: a damaged or hostile
# gridSpan of 99,999,999 was a hundred million cells and a timed-out worker.
MAX_GRID_SPAN = 100

_HTML_TABLE_TAG = re.compile(r"<(/?)table(?=[\s>/])", re.IGNORECASE)


def check_html_table_nesting(markup: str) -> None:
    """Refuse HTML whose ``<table>`` tags nest deeper than the limit.

    Counted on the tags, so an unclosed table counts as still open: an upper
    bound of what the parser builds, never less."""
    depth = 0
    for tag in _HTML_TABLE_TAG.finditer(markup):
        if tag.group(1):
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > MAX_TABLE_NESTING:
            raise CorruptDocument(
                f"html: tables nest more than {MAX_TABLE_NESTING} deep "
                f"(at character {tag.start()}): refused before parsing"
            )


def clamp_docx_grid_spans(body) -> None:  # type: ignore[no-untyped-def]
    """Clamp every ``w:gridSpan`` of a parsed DOCX body to 1..MAX_GRID_SPAN
    (a value that is no number becomes 1)."""
    from docx.oxml.ns import qn

    attr = qn("w:val")
    for span in body.iter(qn("w:gridSpan")):
        try:
            n = int(span.get(attr))
        except (TypeError, ValueError):
            n = 1
        if not 1 <= n <= MAX_GRID_SPAN:
            span.set(attr, str(max(1, min(n, MAX_GRID_SPAN))))
