"""The extraction engine: pure functions from document bytes to an
:class:`~schemas.events.ExtractedReport`. No Kafka, no network.

Module map (data flows top to bottom)::

    readers/        sniff the format from the bytes; one reader per format →
                    RawDocument (paragraphs and table cells in reading order; text
                    rows with separators — Markdown, tabs, CSV — become cells)
                    text · html · pdf · docx · doc (also wps, rtf; LibreOffice, antiword)
    normalize       OpenCC t2s, full-width digits, thousands separators, faux bold,
                    whitespace inside labels; absent cells stay absent
    document        linearise blocks into one text, remembering each cell's
                    page / table / row / column for provenance
    metadata        title, agency (as printed), reporting year, region
    catalogue       the standard tables' row labels and columns (reference data)
    regions         the figures after a label (cells, or a run of digits)
    splitting       run-together digit strings, decided by the table identities
    tables          gb2021 / gb2019 tables and the 2008-era statistics table
    linewise        the application table line by line, where a conversion broke it
    prose           figures stated in sentences
    detect          template: gb2021 / gb2019 / freetext / none, from content
    checks, rates   勾稽关系 and derived rates
    pipeline        the whole path (``extract``)
    bounded         ``extract`` in a child process with time and memory limits
"""

from __future__ import annotations

from services.extract.engine.bounded import extract_bounded
from services.extract.engine.pipeline import extract

__all__ = ["extract", "extract_bounded"]
