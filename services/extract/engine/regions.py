"""Reading the figures that follow a row label.

A *value region* is what lies between a row label and the next label. In a
real table (HTML, DOCX, PDF) it is a run of cells; in text it is a run of
digits, spaces, signs and absent markers, possibly with the cell separators
lost. :func:`read_values` returns either the values, or the candidate splits
when the run must be split and more than one split fits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.catalogue import APPLICANT_COLUMNS
from services.extract.engine import normalize, splitting
from services.extract.engine.document import CELL_SEP, ROW_SEP, UNREADABLE, Block, Document

_NUM = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_REGION = re.compile(r"[\d\s+\-.．、/—–－\x1f\x1e]*")
_TRAILING_ITEM_NO = re.compile(r"\s*\d[.．、]\s*$")
_LAST_NUMBER = re.compile(r"[\s\x1f\x1e]*[+-]?\d+(?:\.\d+)?\s*$")
_CJK_AHEAD = re.compile(r"[\u4e00-\u9fff（(]")
# a note printed after a figure: "12（其中修订3件）" states 12
_LONE_FIGURE = re.compile(r"[\s\x1f\x1e]*[+-]?\d+(?:\.\d+)?")
NOTE = re.compile(r"[（(](?:其中|含|包括|包含|注)[^（()）\n\x1f\x1e]{0,40}[）)]")


@dataclass
class Values:
    """Figures read after one label."""

    values: list[float | None] | None  # decided values (None = absent cell)
    candidates: list[tuple[float, ...]] = field(default_factory=list)  # when undecided
    start: int = 0
    end: int = 0
    text: str = ""
    block: Block | None = None  # first cell (tables) for provenance
    split: bool = False  # figures came from splitting a run-together string

    @property
    def decided(self) -> bool:
        return self.values is not None


def _is_single_number(tok: str) -> bool:
    if not _NUM.match(tok):
        return False
    body = tok.lstrip("+-")
    return body == "0" or not body.startswith("0") or body.startswith("0.")


def region_end(text: str, start: int, limit: int) -> int:
    """End of the numeric run that starts at ``start`` (never past ``limit``)."""
    m = _REGION.match(text, start, limit)
    end = m.end() if m else start
    # "...18182.传真申请数": the "2." numbers the next label, not this row
    t = _TRAILING_ITEM_NO.search(text, start, end)
    if t and end < len(text) and _CJK_AHEAD.match(text, end):
        end = t.start()
    # "…0 0\n2023 年，…": a number that runs into 年/月/日/% belongs to the prose after the row
    if end < len(text) and text[end] in "年月日%％个件条":
        last = _LAST_NUMBER.search(text, start, end)
        if last:
            end = last.start()
    return end


def read_values(
    doc: Document,
    start: int,
    limit: int,
    n: int,
    *,
    groups: Sequence[tuple[int, int, splitting.Check]] = (),
    max_digits: int = 6,
) -> Values | None:
    """The ``n`` figures after position ``start`` (a label's end)."""
    text = doc.text
    blk = doc.block_at(start - 1) if start > 0 else None
    if blk is None:  # between blocks (a separator): the block that starts here
        blk = doc.block_at(start)
    if blk is not None and blk.table is not None:
        return _read_cells(doc, start, limit, n)
    end, region, repeat = _region_without_notes(text, start, limit)
    toks = region.split()
    if not toks:
        return None
    if repeat and len(toks) == n + 1:
        toks.pop()  # a figure repeated with a note on its own line, above the next row
        region = " ".join(toks)
    if len(toks) == n and all(_is_single_number(t) or normalize.is_absent(t) for t in toks):
        vals = [None if normalize.is_absent(t) else float(t) for t in toks]
        if all(v is None for v in vals):
            return None
        return Values(vals, start=start, end=end, text=region.strip())
    if n == 1 and len(toks) > 1 and len(set(toks)) == 1 and _is_single_number(toks[0]):
        # one figure repeated in every column its merged cell spans
        return Values([float(toks[0])], start=start, end=end, text=region.strip())
    if any(normalize.is_absent(t) for t in toks):
        return None  # absent markers mixed into a run: no safe split
    ch = splitting.chunks(region)
    if not ch:
        return None
    cands = splitting.candidates(ch, n, groups=groups, max_digits=max_digits)
    if cands is None or not cands:
        return Values(None, [], start=start, end=end, text=region.strip(), split=True)
    if len(cands) == 1:
        return Values(list(cands[0]), cands, start=start, end=end, text=region.strip(), split=len(toks) != n)
    return Values(None, cands, start=start, end=end, text=region.strip(), split=True)


def _region_without_notes(text: str, start: int, limit: int) -> tuple[int, str, bool]:
    """The value region, read on past a note that follows a figure, with the
    notes left out. The flag says the last figure stands alone on its line
    with a note: a cell of the next row repeated above it."""
    end = region_end(text, start, limit)
    parts = [text[start:end]]
    repeat = False
    while end < limit and end > start and text[end - 1].isdigit():
        note = NOTE.match(text, end, limit)
        if note is None:
            break
        line_start = text.rfind("\n", start, end) + 1
        repeat = line_start > start and _LONE_FIGURE.fullmatch(text, line_start, end) is not None
        end = region_end(text, note.end(), limit)
        parts.append(text[note.end() : end])
        if text[note.end() : end].strip():
            repeat = False
    region = " ".join(parts).replace(CELL_SEP, " ").replace(ROW_SEP, " ")
    return end, region, repeat


_CELL_UNIT = re.compile(r"(?<=\d)\s*(?:件|条|个|项|次|宗|起)$")
_UNITS = {"条", "件", "个", "项", "份", "次", "宗", "起", "元", "万元"}


def _read_cells(doc: Document, start: int, limit: int, n: int) -> Values | None:
    vals: list[float | None] = []
    first: Block | None = None
    texts: list[str] = []
    end = start
    this_row: tuple[int | None, int | None] | None = None
    lead = 0
    blank_tail = 0  # empty cells (not "/" or "—") at the end of the figures so far
    text = doc.text
    # the label's own cell: a converter that repeats a merged cell in every column it spans
    # writes it again before the figures
    cell_start = max(text.rfind(CELL_SEP, 0, start), text.rfind("\n", 0, start)) + 1
    cell_end = text.find(CELL_SEP, start, limit)
    prev = text[cell_start:cell_end].strip() if cell_end >= 0 and cell_start < start else ""
    for span in doc.cells_in(start, limit):
        t = NOTE.sub("", doc.text[span.start : span.end]).strip()
        if not vals and t and t == prev:
            continue
        prev = t
        row = (span.block.table, span.block.row)
        if row != this_row and this_row is not None and len(_trimmed(vals)) == n:
            break  # the row is complete: a new row (a cell repeated above the next one) is not its
        if row != this_row and not vals:
            lead = 0
        this_row = row
        if t in _UNITS and not vals:
            continue  # the 计量单位 column of the 2008-era table
        if not t and not vals:
            lead += 1  # blank cells before the figures: label padding, or a blank first column (below)
            continue
        if normalize.is_absent(t):
            vals.append(None)
            blank_tail = blank_tail + 1 if not t else 0
        elif set(t) == {UNREADABLE}:
            # a cell of a grid OCR could not read surely: its figure is absent, and the
            # grid keeps the row's other cells in their columns
            vals.append(None)
            blank_tail = 0
        else:
            t = _CELL_UNIT.sub("", t)  # "28件"
            parts = t.split()
            if not parts or not all(_is_single_number(p) for p in parts):
                break
            vals.extend(float(p) for p in parts)
            blank_tail = 0
        if first is None and not normalize.is_absent(t) and UNREADABLE not in t:
            first = span.block
        texts.append(t)
        end = span.end
    if n == len(APPLICANT_COLUMNS) and blank_tail and doc.format == "text" and len(_trimmed(vals, n)) == n:
        # an applicant row of a text table whose 总计 cell would be an empty one: a row that lost a cell
        # (pushed into the next row) reads like that, shifted; a blank total is not a reading to trust.
        # A real grid (HTML, DOCX, a ruled PDF) places every cell, so its blank total is just blank.
        return None
    read = len(vals)
    vals = _trimmed(vals, n)
    if (
        n == len(APPLICANT_COLUMNS)
        and len(vals) == n
        and (len(vals) < read or lead)
        and None not in vals
        and not _sums(vals)
    ):
        # blank cells around the figures (label padding, dropped to make the row): where the row starts
        # is not printed, and only the applicant identity can confirm the fit
        return None
    if lead and len(vals) == n - 1 and vals and (n != len(APPLICANT_COLUMNS) or _blank_first_sums(vals)):
        # one figure short and a blank cell before them: the blank is the first column, unless the
        # applicant identity says the row is missing another cell (a cell pushed into the next row)
        vals = [None, *vals]
    if n == 1 and len(vals) > 1 and vals[0] is not None and len(set(vals)) == 1:
        vals = vals[:1]  # one figure repeated in every column its merged cell spans
    if len(vals) != n or all(v is None for v in vals):
        return None
    return Values(vals, start=start, end=end, text=" | ".join(texts), block=first)


def _sums(vals: list[float | None]) -> bool:
    return None not in vals and abs(sum(vals[:-1]) - vals[-1]) < 1e-6  # type: ignore[arg-type, operator]


def _blank_first_sums(vals: list[float | None]) -> bool:
    """With a blank first column, do the other applicant columns sum to the
    total? Only a row without zeros can say: losing a 0 cell anywhere keeps
    the sum, so with a zero the blank may as well be a lost cell's place."""
    return 0 not in vals[:-1] and _sums(vals)


def _trimmed(vals: list[float | None], n: int = 0) -> list[float | None]:
    """Blank cells around a row's figures (label columns, padding) dropped down to ``n``."""
    vals = list(vals)
    while len(vals) > n and vals and vals[0] is None:
        vals.pop(0)
    while len(vals) > n and vals and vals[-1] is None:
        vals.pop()
    return vals
