"""The extraction engine: pure functions from document bytes to an
:class:`~schemas.events.ExtractedReport`.

Module map (data flows top to bottom)::

    readers/        one reader per format → RawDocument (blocks: paragraphs, table cells)
    normalize       opencc t2s, full-width digits, thousands separators, faux bold
    document        linearise blocks into one text, remembering each cell's place
    detect          template: gb2021 / gb2019 / freetext / none (from content)
    metadata        agency, reporting year, region
    catalogue       the standard tables' row labels (reference data)
    regions         figures after a label; splitting        run-together digit strings
    tables          standard tables + the 2008-era statistics table
    prose           figures stated in sentences
    checks, rates   勾稽关系 and derived rates
    pipeline        the whole path; bounded   the same in a limited child process
"""

from __future__ import annotations

from services.extract.engine.bounded import extract_bounded
from services.extract.engine.pipeline import extract

__all__ = ["extract", "extract_bounded"]
