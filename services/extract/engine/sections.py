"""Section completeness: a section of the 2019/2021 template whose heading or
table is in the document but which yielded no figure is named, with why.

A lost section must never read as zeros ("0 applications"): its figures
stay absent, and ``ExtractedReport.incomplete_sections`` plus a warning say
that they were printed but not read, so the index, the dashboards and the
alert rules can tell "nothing read" from "nothing happened".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.extract.engine import catalogue as cat
from services.extract.engine.document import Document

APPLICATIONS = "applications"
REVIEW_LITIGATION = "review_litigation"
PROACTIVE = "proactive"
FEES = "fees"
#: every section name ``incomplete_sections`` may hold
NAMES = (PROACTIVE, APPLICATIONS, REVIEW_LITIGATION, FEES)


@dataclass(frozen=True)
class _Section:
    name: str
    heading: re.Pattern[str]
    prefixes: tuple[str, ...]  # metric keys that are this section's figures
    table_row: re.Pattern[str] | None = None  # a row label only the section's table has


_SECTIONS = (
    _Section(
        PROACTIVE,
        re.compile(r"主动公开政府信息情况"),
        ("proactive.",),
        re.compile(r"第二十条第[（(]一[）)]项|本年制发件数|本年新制作数量"),
    ),
    _Section(
        APPLICATIONS,
        re.compile(r"收到和处理政府信息公开申请情况"),
        ("applications.",),
        re.compile(cat.APPLICATION_ROWS[0].pattern),
    ),
    _Section(
        REVIEW_LITIGATION,
        re.compile(r"政府信息公开行政复议、行政诉讼情况|行政复议和行政诉讼情况"),
        ("review.", "litigation."),
        re.compile(r"未经复议直接起诉|复议后起诉"),
    ),
)
_NEXT_HEADING = re.compile(r"(?:^|\n)[一二三四五六七八九十]、")
# a sentence on 信息处理费 that states an amount (its own section in the 2019
# template's "other matters"; 未收取 / 0元 is a figure too)
# (split into sentences first: a pattern [^。]*信息处理费 tried every position of
# every sentence and backtracked through it)
_SENTENCE_BREAK = re.compile(r"[。；;\n]")
_FEE_WORD = "信息处理费"
_AMOUNT = re.compile(r"\d+(?:\.\d+)?\s*(?:万)?元")
# proactive.items_total comes from the prose, not from the section's table
_NOT_SECTION_FIGURES = ("proactive.items_total",)


def incomplete(doc: Document, metrics: dict[str, float]) -> list[tuple[str, str]]:
    """(section, why) for every section that is printed but yielded no figure."""
    read = [k for k in metrics if not k.startswith("rates.") and k not in _NOT_SECTION_FIGURES]
    out: list[tuple[str, str]] = []
    for s in _SECTIONS:
        if any(k.startswith(s.prefixes) for k in read):
            continue
        heading = s.heading.search(doc.text)
        row = s.table_row.search(doc.text) if s.table_row else None
        if heading is None and row is None:
            continue  # the section is not in the document at all
        if heading is not None:
            nxt = _NEXT_HEADING.search(doc.text, heading.end())
            end = nxt.start() if nxt else len(doc.text)
            cells = doc.cells_in(heading.end(), end)
            where = f"its heading «{heading.group()}» is in the document"
            if row is not None:
                why = "its table is there too, but none of its rows could be read"
            elif cells:
                why = f"a table of {len(cells)} cells follows the heading, but none of its rows could be read"
            else:
                why = "no table of the section follows it (an image or an attachment?)"
        else:
            where = f"its table (row «{row.group()}») is in the document"  # type: ignore[union-attr]
            why = "but none of its rows could be read"
        out.append(
            (s.name, f"section {s.name} incomplete: {where}; {why}; its figures are left out, not zero")
        )
    if not any(k.startswith("fees.") for k in read):
        for sentence in _SENTENCE_BREAK.split(doc.text) if _FEE_WORD in doc.text else ():
            if _FEE_WORD in sentence and _AMOUNT.search(sentence):
                out.append(
                    (
                        FEES,
                        f"section fees incomplete: «{sentence.strip()[:60]}» states an amount that "
                        "was not read; left out, not zero",
                    )
                )
                break
    return out
