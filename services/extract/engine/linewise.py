"""The application table read row by row, for conversions that broke it.

The label-anchored parser (:mod:`tables`) reads the figures that follow each
row label. Converters break that: a label alone on one line and its seven
figures on the next, a label wrapped over two lines with the figures after
its first half, rows whose labels were lost, a cell pushed into the next row,
a cell repeated above its row with a note (``12（其中修订3件）``).

Here the table is read as lines (a text line, or a table row): each line has
its label text and its figures. Lines are repaired (a wrapped label's
continuation joins the line above, a label-only line takes the figures of the
line below, a noted repeat is dropped, a stray cell moves back when both rows
then sum), then placed by their labels and, where labels are missing, by the
template's fixed row order. Rows placed by order alone are kept only when the
table's identities confirm them (each row's applicant columns sum to its
total, intake balances, outcomes sum to the total handled); otherwise they
stay absent with a warning. The caller (:mod:`tables`) takes these rows only
where the label-anchored reading left a row out, and drops them all if they
disagree with any row that reading took.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from schemas.catalogue import APPLICANT_COLUMNS, PARENTS
from services.extract.engine import catalogue as cat
from services.extract.engine import checks, normalize
from services.extract.engine.document import CELL_SEP, ROW_SEP, Document
from services.extract.engine.regions import NOTE, Values
from services.extract.engine.splitting import sums_to_last

N = len(APPLICANT_COLUMNS)
_ITEM_NO = re.compile(r"(?<![\d.])\d{1,2}\s*[.．、](?=\s*[^\d\s\x1f\x1e])")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_UNIT = re.compile(r"\s*(?:件|条|个|项|次|宗|起)")
_MAX_DIGITS = 6  # a longer run is cells run together: the splitter's business, not this reader's

# the rows a gb2021 table prints with figures, in order (the (三)(四)(五)(六) totals are group labels)
_PARENTS = set(PARENTS)
PRINTED_GB2021 = tuple(r.key for r in cat.APPLICATION_ROWS if r.key not in _PARENTS)
# the 2019 layout prints (六)其他处理 as one row without reasons
_OTHER = PARENTS["applications.other.total"]
PRINTED_OTHER_SINGLE = tuple(
    "applications.other.total" if k == _OTHER[0] else k for k in PRINTED_GB2021 if k not in _OTHER[1:]
)
ORDERS = (PRINTED_GB2021, PRINTED_OTHER_SINGLE)


@dataclass
class Token:
    value: float | None  # None: an absent cell
    start: int
    end: int
    noted: bool = False  # followed by a note such as （其中修订3件）


@dataclass
class Line:
    label: str
    tokens: list[Token]
    start: int
    end: int
    keys: list[str] = field(default_factory=list)  # catalogue rows whose labels the line holds
    opaque: bool = False  # holds something that is neither label nor figure (a run of digits)


def _lines(doc: Document, start: int, end: int) -> list[Line]:
    out: list[Line] = []
    text = doc.text
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        line = _line(doc, pos, stop)
        if line is not None:
            out.append(line)
        pos = stop + 1
    return out


def _line(doc: Document, start: int, end: int) -> Line | None:
    text = doc.text
    label: list[str] = []
    tokens: list[Token] = []
    opaque = False
    cells = text[start:end].split(CELL_SEP)
    pos = start
    in_cells = len(cells) > 1
    for cell in cells:
        cell_start = pos
        pos += len(cell) + 1
        body = cell.replace(ROW_SEP, "")
        if in_cells and normalize.is_absent(body):
            if body.strip() or tokens:  # an empty cell between figures is an absent one
                tokens.append(Token(None, cell_start, cell_start + len(cell)))
            continue
        i = 0
        while i < len(body):
            note = NOTE.match(body, i)
            if note:
                if tokens and tokens[-1].end == cell_start + i:
                    tokens[-1].noted = True
                i = note.end()
                continue
            item = _ITEM_NO.match(body, i)
            if item and (i == 0 or not body[i - 1].isdigit()):
                label.append(item.group())
                i = item.end()
                continue
            num = _NUMBER.match(body, i)
            if num and (i == 0 or not body[i - 1].isdigit()):
                whole = num.group().lstrip("+-").split(".")[0]
                if len(whole) > _MAX_DIGITS or (len(whole) > 1 and whole[0] == "0"):
                    opaque = True  # cells run together ("0000000"): the splitter's business
                tokens.append(Token(float(num.group()), cell_start + i, cell_start + num.end()))
                i = num.end()
                unit = _UNIT.match(body, i)
                if unit:
                    i = unit.end()
                continue
            word = re.match(r"\S+", body[i:]) if i == 0 or body[i - 1].isspace() else None
            if word and normalize.is_absent(word.group()):  # "/", "-", "—" standing for a cell
                tokens.append(Token(None, cell_start + i, cell_start + i + word.end()))
                i += word.end()
                continue
            ch = body[i]
            if not ch.isspace():
                if tokens and not in_cells:
                    opaque = True  # text after figures on one text line: not a table row
                label.append(ch)
            i += 1
    while (
        in_cells
        and tokens
        and tokens[-1].value is None
        and not text[tokens[-1].start : tokens[-1].end].strip()
    ):
        tokens.pop()  # trailing empty cells pad the row
    lab = "".join(label)
    if not lab and not tokens:
        return None
    return Line(lab, tokens, start, end, opaque=opaque)


def _keys(label: str) -> list[str]:
    """Catalogue rows whose label the text holds, in catalogue order."""
    found = []
    pos = 0
    for row in cat.APPLICATION_ROWS:
        m = re.compile(row.pattern).search(label, pos)
        if m:
            found.append(row.key)
            pos = m.end()
    return found


def _continues(label: str) -> bool:
    """A text-only line that starts no catalogue label: the rest of a wrapped label."""
    return (
        bool(label)
        and not _keys(label)
        and not re.match(r"[（(][一二三四五六七][）)]|[一二三四五六七]、|\d[.．、]", label)
    )


def _repair(lines: list[Line], warnings: list[str]) -> list[Line]:
    out: list[Line] = []
    for ln in lines:
        ln.keys = _keys(ln.label)
    i = 0
    while i < len(lines):
        ln = lines[i]
        # a wrapped label: the continuation joins the line above (which holds the figures)
        if (
            not ln.tokens
            and out
            and out[-1].tokens
            and _continues(ln.label)
            and _keys(out[-1].label + ln.label)
        ):
            prev = out[-1]
            prev.label += ln.label
            prev.keys = _keys(prev.label)
            prev.end = ln.end
            i += 1
            continue
        # a noted figure alone on its line, repeated in the row below: drop it
        if (
            not ln.label
            and len(ln.tokens) == 1
            and ln.tokens[0].noted
            and i + 1 < len(lines)
            and any(t.value == ln.tokens[0].value for t in lines[i + 1].tokens)
        ):
            warnings.append(
                f"applications: '{ln.tokens[0].value:g}' with a note above its row read as a repeat"
            )
            i += 1
            continue
        # a label alone on its line and one figure a line below it, as many lines as the row has
        # cells (a table flattened to one cell a line, seed 004, and its scan): one row. A label
        # the catalogue does not know (OCR misread a character) is taken when it starts like a row
        # label: the template's order then places it, and the identities confirm it or leave it out.
        cells = _one_figure_lines(lines, i + 1)
        if not ln.tokens and cells and (ln.keys or _ROW_START.match(ln.label)):
            last = lines[i + N]
            out.append(Line(ln.label, [c.tokens[0] for c in cells], ln.start, last.end, ln.keys))
            i += N + 1
            continue
        # a label alone on its line: the figures are on the next line, which has no label; the
        # label may go on below the figures (pdftotext -layout centres the figures on a wrapped label)
        if not ln.tokens and i + 1 < len(lines) and lines[i + 1].tokens and not lines[i + 1].label:
            nxt = lines[i + 1]
            after = lines[i + 2] if i + 2 < len(lines) else None
            wraps = (
                after is not None
                and not after.tokens
                and _continues(after.label)
                and bool(_keys(ln.label + after.label))
            )
            if ln.keys or wraps:
                out.append(Line(ln.label, nxt.tokens, ln.start, nxt.end, _keys(ln.label), nxt.opaque))
                i += 2
                continue
        out.append(ln)
        i += 1
    return [ln for ln in out if ln.tokens or ln.keys]


def _one_figure_lines(lines: list[Line], i: int) -> list[Line]:
    """The :data:`N` lines from ``i`` when each holds one figure and no label,
    and the line after them does not (a longer run is not one row); else []."""
    run = lines[i : i + N]
    if len(run) < N or any(ln.label or len(ln.tokens) != 1 or ln.opaque for ln in run):
        return []
    after = lines[i + N] if i + N < len(lines) else None
    if after is not None and not after.label and len(after.tokens) == 1:
        return []
    return run


_ROW_START = re.compile(r"[（(][一二三四五六七][）)]|[一二三四五六七]、|\d{1,2}\s*[.．、]")


def _sums(tokens: list[Token]) -> bool:
    vals = [t.value for t in tokens]
    if len(vals) != N:
        return False
    if any(v is None for v in vals):
        return True  # blank columns: the identity cannot be checked, which is not a failure
    return sums_to_last(vals)  # type: ignore[arg-type]


def _move_strays(rows: list[Line], warnings: list[str]) -> None:
    """A cell pushed into the next row: one row one short, the next one long."""
    for a, b in itertools.pairwise(rows):
        if len(a.tokens) == N - 1 and len(b.tokens) == N + 1:
            ta, tb = a.tokens + b.tokens[:1], b.tokens[1:]
        elif len(a.tokens) == N + 1 and len(b.tokens) == N - 1:
            ta, tb = a.tokens[:-1], a.tokens[-1:] + b.tokens
        else:
            continue
        if _sums(ta) and _sums(tb) and all(t.value is not None for t in ta + tb):
            a.tokens, b.tokens = ta, tb
            warnings.append(
                f"applications: a cell pushed into the next row moved back ('{a.label[:12]}'); both rows sum"
            )


def read(doc: Document, start: int, end: int, warnings: list[str]) -> dict[str, Values]:
    """Rows of the application table in ``[start, end)``, placed by label and,
    where labels are missing, by the template's order; rows placed by order
    are kept only when every identity confirms them."""
    lines = _repair(_lines(doc, start, end), warnings)
    # the header (自然人 … 总计, or 数据1 … 数据6) comes before the first row
    first = next((i for i, ln in enumerate(lines) if ln.keys or not ln.label), len(lines))
    rows = [ln for ln in lines[first:] if ln.tokens]
    if not rows or any(ln.opaque for ln in rows):
        return {}
    _move_strays(rows, warnings)
    fits = [p for p in (_place(rows, order) for order in ORDERS) if p is not None]
    # the row order that leaves fewest rows unplaced, then places fewest by order alone
    fits.sort(key=lambda p: (p[2], len(p[1])))
    if (
        len(fits) == 2
        and fits[0] != fits[1]
        and (fits[0][2], len(fits[0][1])) == (fits[1][2], len(fits[1][1]))
    ):
        warnings.append("applications: the rows fit both the 2021 and the 2019 row order; left out")
        return {}
    if not fits:
        warnings.append("applications: the row labels contradict the template's row order; left out")
        return {}
    placed, by_order, unplaced = fits[0]
    if unplaced:
        warnings.append(
            f"applications: {unplaced} rows without labels do not fit the template's row order "
            "between their labelled neighbours; left out"
        )
    if by_order:
        table = {
            k: tuple(t.value if t.value is not None else float("nan") for t in ln.tokens)
            for k, ln in placed.items()
        }
        if (
            not all(_sums(placed[k].tokens) for k in by_order)
            or not _identities_checked(table)
            or not checks.rows_hold(table)
        ):
            warnings.append(
                "applications: rows without labels placed by the template's order do not satisfy "
                "the table's identities; left out"
            )
            placed = {k: ln for k, ln in placed.items() if k not in by_order}
        else:
            warnings.append(
                f"applications: {len(by_order)} rows without labels placed by the template's "
                "row order (every identity holds)"
            )
    # a row the label reader could not read came through a broken conversion: its own identity must
    # hold (a row with blank columns cannot say, and is kept as printed)
    off = sorted(k for k, ln in placed.items() if len(ln.tokens) == N and not _sums(ln.tokens))
    if off:
        warnings.append(
            f"applications: {', '.join(off)}: applicant columns do not sum to the total in the "
            "line-by-line reading; left out"
        )
        placed = {k: ln for k, ln in placed.items() if k not in off}
    return {
        k: Values(
            [t.value for t in ln.tokens],
            start=ln.tokens[0].start,
            end=ln.tokens[-1].end,
            text=doc.text[ln.tokens[0].start : ln.tokens[-1].end]
            .replace(CELL_SEP, " ")
            .replace(ROW_SEP, "")
            .strip()[:200],
            block=doc.block_at(ln.tokens[0].start),
        )
        for k, ln in placed.items()
        if len(ln.tokens) == N
    }


def _place(rows: list[Line], order: tuple[str, ...]) -> tuple[dict[str, Line], set[str], int] | None:
    """Rows to keys: a labelled row takes its label's key; the unlabelled rows
    between two labelled ones take the keys between them when they are
    exactly as many (else they stay unplaced). Returns the placement, the
    keys placed by order alone and the number of rows left unplaced; None
    when the labels contradict this order."""
    index = {k: i for i, k in enumerate(order)}
    placed: dict[str, Line] = {}
    seq: list[Line] = []
    for ln in rows:
        own = [k for k in ln.keys if k in index]
        if ln.keys and not own:
            if ln.keys[-1] not in PARENTS:
                return None  # a label of the other layout
            placed[ln.keys[-1]] = ln  # a group's own total row, e.g. （三）不予公开 with figures
            continue
        seq.append(ln)
    anchors: list[tuple[int, int]] = []  # (row number in seq, template index)
    for ri, ln in enumerate(seq):
        own = [k for k in ln.keys if k in index]
        if own:
            if anchors and index[own[-1]] <= anchors[-1][1]:
                return None  # labels out of the template's order
            anchors.append((ri, index[own[-1]]))
    by_order: set[str] = set()
    unplaced = 0
    bounds = [(-1, -1)] + anchors + [(len(seq), len(order))]
    for (r0, t0), (r1, t1) in itertools.pairwise(bounds):
        if 0 <= r1 < len(seq):
            placed[order[t1]] = seq[r1]
        gap_rows, gap_keys = seq[r0 + 1 : r1], order[t0 + 1 : t1]
        if len(gap_rows) != len(gap_keys):
            unplaced += len(gap_rows)
            continue
        for ln, key in zip(gap_rows, gap_keys, strict=False):
            placed[key] = ln
            by_order.add(key)
    return placed, by_order, unplaced


def _identities_checked(table: dict[str, tuple[float, ...]]) -> bool:
    """Rows placed by order are kept only when both cross-row identities can run."""
    needed = (
        "applications.new_received",
        "applications.carried_over",
        "applications.total_handled",
        "applications.carried_forward",
    )
    return all(k in table for k in needed)
