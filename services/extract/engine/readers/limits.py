"""Structural limits checked on the raw markup, before a parser builds a
tree: a few cheap passes in C (regular expressions) that refuse shapes whose
reading would cost far more than their size suggests.

Tables nested thousands deep are one: each level is rendered as a layout
table around the next, and 5,000 levels took 18 s before the recursion
limit refused them. Real reports nest layout tables a handful deep.
(DOCX needs no such pass: libxml2 refuses XML nested deeper than 256
elements when python-docx opens the part.)
"""

from __future__ import annotations

import re

from services.extract.errors import CorruptDocument

MAX_TABLE_NESTING = 32

_HTML_TABLE_TAG = re.compile(r"<(/?)table(?=[\s>/])", re.I)


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
            raise CorruptDocument(f"html: tables nest more than {MAX_TABLE_NESTING} deep "
                                  f"(at character {tag.start()}): refused before parsing")
