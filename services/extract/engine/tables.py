"""Parsers for the standard tables (gb2021 / gb2019) and the 2008-era
statistics table, all working on the linearised text of any format.

The approach is label-anchored: find each catalogue row label in order, read
the figures that follow it (:mod:`regions`), and decide run-together strings
with the table's identities. Nothing is guessed: a row whose split stays
ambiguous after every identity is left out with a warning.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.catalogue import (
    APPLICANT_COLUMN_LABELS,
    APPLICANT_COLUMNS,
    PARENTS,
    REVIEW_BLOCKS,
    REVIEW_COLUMN_LABELS,
    REVIEW_COLUMNS,
)
from schemas.events import Provenance
from services.extract.engine import catalogue as cat
from services.extract.engine import checks, linewise
from services.extract.engine.document import Document
from services.extract.engine.regions import Values, read_values
from services.extract.engine.splitting import sums_to_last


@dataclass
class TableResult:
    metrics: dict[str, float] = field(default_factory=dict)
    breakdown: dict[str, dict[str, float]] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # ambiguous proactive cells: key -> candidate values (for prose to decide)
    pending: dict[str, list[tuple[str, list[tuple[float, ...]], Values]]] = field(default_factory=dict)
    found: bool = False
    apps_from_cells: bool = False  # the application table came from real table cells
    other_rows: int = 0  # how many 其他处理 sub-rows were printed
    # a row of figures stands above the first row label: the figures may sit above their labels
    # (a PDF's text lines), so reading the figures after each label is confirmed by the identities
    figures_above_labels: bool = False
    # rows placed by reading the table line by line (no label of their own next to the figures)
    line_by_line: set[str] = field(default_factory=set)
    # every row's figures start right after its label, on its line (a crawler's flattened
    # table, "申请数量0000000"), none placed line by line and no figures above the first
    # label: the row order is the text's, not a guess from the page layout
    figures_follow_labels: bool = False


def _prov(doc: Document, v: Values, row: str, column: str | None) -> Provenance:
    b = v.block or doc.block_at(v.start)
    table = b.table if b is not None and b.table is not None else None
    return Provenance(
        kind="table",
        page=b.page if b is not None else None,
        table=table,
        row=row,
        column=column,
        span=(v.start, v.end),
        text=v.text[:200],
    )


def _ordered_matches(doc: Document, patterns: list[str], start: int, end: int) -> list[re.Match[str] | None]:
    """Find each pattern in order; a label is skipped when taking it would jump
    over a later label (so one missing row cannot swallow the rest)."""
    text = doc.text
    regs = [re.compile(p) for p in patterns]
    out: list[re.Match[str] | None] = []
    pos = start
    for i, rx in enumerate(regs):
        m = rx.search(text, pos, end)
        if m is None:
            out.append(None)
            continue
        later = [r.search(text, pos, m.start()) for r in regs[i + 1 : i + 5]]
        if any(x is not None for x in later):
            out.append(None)
            continue
        out.append(m)
        pos = m.end()
    return out


# ---------------------------------------------------------------- applications


def find_application_table(doc: Document) -> tuple[int, int] | None:
    """Start/end of the 收到和处理政府信息公开申请情况 table, if the document has one."""
    rx = re.compile(cat.APPLICATION_ROWS[0].pattern)
    for m in rx.finditer(doc.text):
        v = read_values(doc, m.end(), min(len(doc.text), m.end() + 200), 7, groups=[(0, 7, sums_to_last)])
        if v is None:
            continue
        start = m.start()
        end_m = re.compile(r"结转下年度继续办理").search(doc.text, start)
        end = len(doc.text)
        if end_m:
            nxt = re.compile(r"行政复议|五、|存在的主要问题").search(doc.text, end_m.end())
            end = nxt.start() if nxt else min(len(doc.text), end_m.end() + 400)
        return start, end
    return _application_section(doc)


_APPLICATION_SECTION = re.compile(r"收到和处理政府信息公开申请情况")
_APPLICATION_SECTION_END = re.compile(r"行政复议|五、|存在的主要问题")


def _application_section(doc: Document) -> tuple[int, int] | None:
    """The section of the application table when no row label starts it (a
    conversion lost the labels): from its heading to the review section."""
    for m in _APPLICATION_SECTION.finditer(doc.text):
        e = _APPLICATION_SECTION_END.search(doc.text, m.end())
        end = e.start() if e else min(len(doc.text), m.end() + 3000)
        # the heading is also named in the report's opening list of sections: take the one with figures
        if len(re.findall(r"\d", doc.text[m.end() : end])) >= 7 * 20:
            return m.end(), end
    return None


def parse_applications(doc: Document, res: TableResult, span: tuple[int, int] | None = None) -> None:
    span = span or find_application_table(doc)
    if span is None:
        return
    start, end = span
    matches = _ordered_matches(doc, [r.pattern for r in cat.APPLICATION_ROWS], start, end)
    found = [(r, m) for r, m in zip(cat.APPLICATION_ROWS, matches, strict=False) if m is not None]
    if found and found[0][0].key == "applications.total_handled":
        found = found[1:]  # the 总计 column header of a table whose row labels were lost
    values: dict[str, Values] = {}
    for i, (row, m) in enumerate(found):
        limit = found[i + 1][1].start() if i + 1 < len(found) else end
        v = read_values(doc, m.end(), limit, 7, groups=[(0, 7, sums_to_last)])
        if v is not None:
            values[row.key] = v
    _resolve_applications(values, res)
    _distrust_neighbours_of_broken_rows(found, values, res)
    _read_broken_rows(doc, res, values, start, end)
    labelled = re.compile(cat.APPLICATION_ROWS[0].pattern).match(doc.text, start) is not None
    if not labelled and not any(v.decided for v in values.values()):
        return  # a section found by its heading alone counts as a table only once rows were read from it
    res.found = True
    blk = doc.block_at(found[0][1].end() - 1) if found else next(iter(values.values())).block
    res.apps_from_cells = blk is not None and blk.table is not None
    res.figures_above_labels = (
        labelled
        and not res.apps_from_cells
        and _FIGURES_LINE.search(doc.text, max(0, start - 200), start) is not None
    )
    _note_applicant_columns(doc, res, values, start, end)
    res.other_rows = sum(
        1 for k in values if k.startswith("applications.other.") and k != "applications.other.total"
    )
    decided = {k: v for k, v in values.items() if v.decided}
    label_ends = {row.key: m.end() for row, m in found}
    res.figures_follow_labels = (
        bool(decided)
        and not res.line_by_line
        and not res.figures_above_labels
        and all(
            k in label_ends and _FOLLOWS.fullmatch(doc.text, label_ends[k], v.start)
            for k, v in decided.items()
        )
    )
    for key, v in decided.items():
        label = _label_of(found, key)
        _store_row(doc, res, key, v.values or [], v, label)
    _derive_parents(res)


def _distrust_neighbours_of_broken_rows(
    found: list[tuple[cat.Row, re.Match[str]]], values: dict[str, Values], res: TableResult
) -> None:
    """A row that could not be read may have lost a cell to its neighbour, or
    taken one: a neighbour whose applicant columns then do not sum to its
    total is as likely shifted as misprinted, so it is left out."""
    # the group labels (（三）不予公开 …) have no figures of their own in most tables: not rows here
    keys = [row.key for row, _ in found if row.key not in PARENTS or row.key in values]
    for i, key in enumerate(keys):
        v = values.get(key)
        if (
            v is None
            or not v.decided
            or None in (v.values or [])
            or sums_to_last([x for x in v.values or [] if x is not None])
        ):
            continue
        near = keys[max(0, i - 1) : i] + keys[i + 1 : i + 2]
        if any(k not in values or not values[k].decided for k in near):
            values.pop(key)
            res.warnings.append(
                f"{key}: applicant columns do not sum to the total next to a row that could not "
                "be read (a cell moved between them?); left out"
            )


def _read_broken_rows(
    doc: Document, res: TableResult, values: dict[str, Values], start: int, end: int
) -> None:
    """Rows the labels did not give: read the table line by line (:mod:`linewise`)
    and take its rows only when they agree with every row already read."""
    decided = {k: v for k, v in values.items() if v.decided}
    if any(all(k in decided for k in order) for order in linewise.ORDERS):
        return
    warnings: list[str] = []
    placed = linewise.read(doc, start, end, warnings)
    if not placed:
        res.warnings += warnings
        return
    # the line-by-line reading may fill a cell a labelled row read as blank (a cell pushed into
    # the next row), never change one it read
    clash = [
        k
        for k, v in decided.items()
        if k in placed
        and any(
            a is not None and a != b for a, b in zip(v.values or [], placed[k].values or [], strict=False)
        )
    ]
    if clash:
        res.warnings.append(
            f"applications: reading the table line by line disagrees with its labelled rows "
            f"({', '.join(clash)}); the line-by-line reading is left out"
        )
        return
    res.warnings += warnings
    filled = [k for k, v in placed.items() if k not in decided or v.values != decided[k].values]
    for k in filled:
        values[k] = placed[k]
    res.line_by_line.update(filled)
    if filled:
        # the label-anchored reading's complaints about these rows no longer hold
        res.warnings[:] = [w for w in res.warnings if not w.startswith(tuple(f"{k}: " for k in filled))]
        res.warnings.append(
            f"applications: {len(filled)} rows read line by line (labels and figures "
            f"separated by the conversion): {', '.join(filled)}"
        )


# what may stand between a row label and its first figure on the same line
_FOLLOWS = re.compile(r"[ \t\u3000]*")
# a line of seven figures ending just before the first row label
_FIGURES_LINE = re.compile(r"(?:^|\n)[ \t]*(?:[+-]?\d+(?:\.\d+)?[ \t]+){6}[+-]?\d+(?:\.\d+)?[ \t]*\n[ \t]*\Z")
_GENERIC_HEADER = re.compile(r"数据\s*[1１一]")


def _note_applicant_columns(
    doc: Document, res: TableResult, values: dict[str, Values], start: int, end: int
) -> None:
    """Say how the applicant columns were read where the table does not say it:
    generic headers (数据1…数据6) are the template's columns in its order (the
    applicant identity confirms it); blank columns leave that identity unchecked."""
    if _GENERIC_HEADER.search(doc.text, max(0, start - 400), min(end, start + 600)):
        res.warnings.append(
            "applications: applicant columns headed 数据1…数据6 read as the template's columns "
            "(自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他, 总计)"
        )
    blank = sorted(
        {
            APPLICANT_COLUMN_LABELS[c]
            for v in values.values()
            if v.decided
            for c, x in zip(APPLICANT_COLUMNS, v.values or [], strict=False)
            if x is None
        }
    )
    if blank:
        res.warnings.append(
            f"applications: applicant columns left blank ({', '.join(blank)}): the applicant "
            "identity is not checked (absent, not failed)"
        )


def _label_of(found: list[tuple[cat.Row, re.Match[str]]], key: str) -> str:
    for row, m in found:
        if row.key == key:
            return str(m.group())
    return key


def _store_row(
    doc: Document, res: TableResult, key: str, vals: list[float | None], v: Values, label: str
) -> None:
    cols = {c: x for c, x in zip(APPLICANT_COLUMNS, vals, strict=False) if x is not None}
    if "total" in cols:
        res.metrics[key] = cols["total"]
        res.provenance[key] = _prov(doc, v, label, "总计")
    if cols:
        res.breakdown[key] = cols


def _derive_parents(res: TableResult) -> None:
    """(三)(四)(五)(六) have no row of their own in most tables: the total is the
    sum of the printed reasons, per column, when every reason is printed."""
    for parent, children in PARENTS.items():
        if parent in res.metrics:
            continue
        present = [c for c in children if c in res.breakdown]
        if not present:
            continue
        if len(present) != len(children):
            continue  # a reason is missing: the sum would be a guess
        cols: dict[str, float] = {}
        for col in APPLICANT_COLUMNS:
            if all(col in res.breakdown[c] for c in present):
                cols[col] = sum(res.breakdown[c][col] for c in present)
        if "total" in cols:
            res.metrics[parent] = cols["total"]
            first = res.provenance.get(present[0])
            res.provenance[parent] = Provenance(
                kind="table",
                page=first.page if first else None,
                table=first.table if first else None,
                row=parent,
                column="总计",
                text="sum of " + ", ".join(present),
            )
        if cols:
            res.breakdown[parent] = cols


def _resolve_applications(values: dict[str, Values], res: TableResult) -> None:
    """Decide ambiguous run-together rows with the cross-row identities."""
    ambiguous = {k: v for k, v in values.items() if not v.decided and v.candidates}
    for k, v in values.items():
        if not v.decided and not v.candidates:
            res.warnings.append(
                f"{k}: figures '{v.text}' fit no split in which the applicant columns sum "
                "to the total; left out"
            )
    if not ambiguous:
        return
    fixed = {
        k: tuple(x if x is not None else float("nan") for x in v.values or [])
        for k, v in values.items()
        if v.decided
    }
    keys = list(ambiguous)
    total = 1
    for k in keys:
        total *= len(ambiguous[k].candidates)
    if total > 200_000:
        for k in keys:
            res.warnings.append(f"{k}: '{ambiguous[k].text}' has too many possible splits; left out")
        return
    passing = []
    for combo in itertools.product(*(ambiguous[k].candidates for k in keys)):
        rows = dict(fixed)
        rows.update(zip(keys, combo, strict=False))
        if checks.rows_hold(rows):
            passing.append(combo)
            if len(passing) > 1000:
                break
    for i, k in enumerate(keys):
        options = {c[i] for c in passing}
        if len(options) == 1:
            v = ambiguous[k]
            v.values = list(next(iter(options)))
            res.warnings.append(f"{k}: '{v.text}' split by the table identities")
        else:
            res.warnings.append(
                f"{k}: '{ambiguous[k].text}' can be split {len(ambiguous[k].candidates)} ways "
                "and the identities do not decide; left out"
            )


# ---------------------------------------------------------------- review / litigation

_REVIEW_HEADER = re.compile(r"复议后起诉")


def parse_review(doc: Document, res: TableResult, after: int = 0) -> None:
    if not _parse_review_row(doc, res, after) and not _parse_review_split(doc, res, after):
        if _REVIEW_SECTION.search(doc.text, after):
            res.warnings.append(
                "review/litigation: no reading of the section gives fifteen figures; left out"
            )


_REVIEW_SECTION = re.compile(r"行政复议、行政诉讼情况|行政复议和行政诉讼情况")
_SECTION_END = re.compile(r"五、|存在的主要问题")
_TOKEN = re.compile(r"[+-]?\d+(?:\.\d+)?|[/—－-]")


def _parse_review_split(doc: Document, res: TableResult, after: int) -> bool:
    """Review and litigation printed as separate tables or rows: take the
    figures of the section in reading order when they are separated and
    exactly fifteen."""
    text = doc.text
    m = _REVIEW_SECTION.search(text, after)
    if m is None:
        return False
    e = _SECTION_END.search(text, m.end())
    end = e.start() if e else min(len(text), m.end() + 2000)
    toks = list(_TOKEN.finditer(text, m.end(), end))
    if len(toks) != 15 or any(len(t.group().lstrip("+-")) > 5 for t in toks):
        return False
    vals = [None if t.group() in "/—－-" else float(t.group()) for t in toks]
    v = Values(
        vals,
        start=toks[0].start(),
        end=toks[-1].end(),
        text=text[toks[0].start() : toks[-1].end()][:200],
        block=doc.block_at(toks[0].start()),
    )
    _store_review(doc, res, v)
    res.warnings.append("review/litigation read as fifteen separated figures across the section")
    return True


def _store_review(doc: Document, res: TableResult, v: Values) -> None:
    vals = v.values or []
    for bi, block in enumerate(REVIEW_BLOCKS):
        for ci, col in enumerate(REVIEW_COLUMNS):
            x = vals[bi * 5 + ci]
            if x is None:
                continue
            key = f"{block}.{col}"
            res.metrics[key] = x
            res.provenance[key] = _prov(
                doc,
                v,
                {
                    "review": "行政复议",
                    "litigation.direct": "未经复议直接起诉",
                    "litigation.after_review": "复议后起诉",
                }[block],
                REVIEW_COLUMN_LABELS[col],
            )


def _parse_review_row(doc: Document, res: TableResult, after: int = 0) -> bool:
    text = doc.text
    for m in _REVIEW_HEADER.finditer(text, after):
        d = re.compile(r"\d").search(text, m.end(), min(len(text), m.end() + 400))
        if d is None:
            continue
        between = text[m.end() : d.start()]
        if re.search(r"五、|存在的主要问题|[。；]", between):
            continue
        groups = [(0, 5, sums_to_last), (5, 10, sums_to_last), (10, 15, sums_to_last)]
        v = read_values(doc, d.start(), len(text), 15, groups=groups, max_digits=5)
        block = doc.block_at(d.start())
        if v is None and block is not None and block.table is not None:
            # cells: read from the first numeric cell
            v = read_values(doc, d.start() - 0, len(text), 15)
        if v is None:
            continue
        if not v.decided:
            if v.candidates:
                res.warnings.append(
                    f"review/litigation: '{v.text}' can be split {len(v.candidates)} ways; left out"
                )
                return True
            return False  # not fifteen figures in a row: try the split layout
        _store_review(doc, res, v)
        res.found = True
        return True
    return False


# ---------------------------------------------------------------- proactive


def parse_proactive(doc: Document, res: TableResult, limit: int | None = None) -> str | None:
    """Returns 'gb2021' / 'gb2019' when the proactive table was recognised."""
    text = doc.text
    marks = [m for p in cat.GB2021_MARKERS + cat.GB2019_MARKERS if (m := re.search(p, text)) is not None]
    if not marks:
        return None
    start = min(m.start() for m in marks)
    end = limit if limit is not None and limit > start else min(len(text), start + 3000)
    region = text[start:end]
    variant = "gb2021" if any(re.search(p, region) for p in cat.GB2021_MARKERS) else "gb2019"
    rows = [r for r in cat.PROACTIVE_ROWS if (r.cols2021 if variant == "gb2021" else r.cols2019)]
    matches = _ordered_matches(doc, [r.pattern for r in rows], start, end)
    found = [(r, m) for r, m in zip(rows, matches, strict=False) if m is not None]
    for i, (row, m) in enumerate(found):
        cols = row.cols2021 if variant == "gb2021" else row.cols2019
        nxt = found[i + 1][1].start() if i + 1 < len(found) else end
        v = _read_proactive(doc, m.end(), nxt, cols, row.prefix)
        if v is None:
            continue
        if not v.decided:
            if v.candidates:
                res.pending[row.prefix] = [
                    (c, [cand[j : j + 1] for cand in v.candidates], v) for j, c in enumerate(cols)
                ]
                _agree(doc, res, row.prefix, cols, v, m.group())
            continue
        for c, x in zip(cols, v.values or [], strict=False):
            if x is None:
                continue
            key = f"{row.prefix}.{c}"
            res.metrics[key] = x
            res.provenance[key] = _prov(doc, v, m.group(), c)
    return variant


def _agree(
    doc: Document, res: TableResult, prefix: str, cols: tuple[str, ...], v: Values, label: str
) -> None:
    """Keep the columns on which every candidate split agrees."""
    for j, c in enumerate(cols):
        opts = {cand[j] for cand in v.candidates}
        if len(opts) == 1:
            key = f"{prefix}.{c}"
            res.metrics[key] = next(iter(opts))
            res.provenance[key] = _prov(doc, v, label, c)
    res.warnings.append(
        f"{prefix}: '{v.text}' can be split {len(v.candidates)} ways; undecided columns left out"
    )


_PROCUREMENT = re.compile(r"[\s\x1f\x1e]*(\d+)[\s\x1f\x1e]+(\d+(?:\.\d+)?)\s*(万元|元)?")


def _read_procurement(doc: Document, start: int, limit: int) -> Values | None:
    """政府集中采购: projects and total amount. The amount is kept only when its
    unit is printed (万元 as is, 元 converted); the two cells must be separated."""
    text = doc.text
    m = _PROCUREMENT.match(text, start, limit)
    if m is None:
        return None
    unit = m.group(3)
    if unit is None:
        head = text[max(0, start - 200) : start]
        unit = (
            "万元"
            if re.search(r"单位[:：]?\s*万元|（万元）|\(万元\)", head)
            else ("元" if re.search(r"单位[:：]?\s*元|（元）|\(元\)", head) else None)
        )
    amount: float | None = float(m.group(2))
    if unit == "元":
        amount = round(float(m.group(2)) / 10000, 6)
    elif unit is None:
        amount = None
    return Values(
        [float(m.group(1)), amount],
        start=start,
        end=m.end(),
        text=m.group().strip(),
        block=doc.block_at(m.start(1)),
    )


def _read_proactive(
    doc: Document, start: int, limit: int, cols: tuple[str, ...], prefix: str
) -> Values | None:
    n = len(cols)
    text = doc.text
    if prefix == "proactive.procurement":
        return _read_procurement(doc, start, limit)
    blk = doc.block_at(start - 1) if start else None
    in_table = blk is not None and blk.table is not None
    if not in_table and "items_change" in cols:
        from services.extract.engine.regions import region_end
        from services.extract.engine.splitting import candidates, chunks

        end = region_end(text, start, limit)
        region = text[start:end].strip()
        m = re.fullmatch(r"(\d+)\s*([+-]\d[\d\s]*)", region)
        if (m and n == 3 and not m.group(1).startswith("0")) or (m and m.group(1) == "0" and n == 3):
            prev = float(m.group(1))
            ch = chunks(m.group(2))
            cands = candidates(ch or [], 2) or []
            full = [(prev,) + c for c in cands]
            if len(full) == 1:
                return Values(list(full[0]), full, start=start, end=end, text=region, split=True)
            ident = [c for c in full if abs(c[0] + c[1] - c[2]) < 1e-6]
            if len(ident) == 1:
                doc.warnings.append(
                    f"{prefix}: '{region}' split so that 上一年项目数量 + 本年增/减 = 处理决定数量 "
                    "(the only split satisfying it)"
                )
                return Values(list(ident[0]), full, start=start, end=end, text=region, split=True)
            return Values(None, full, start=start, end=end, text=region, split=True)
    max_digits = 12 if prefix == "proactive.fees" else 7
    return read_values(doc, start, limit, n, max_digits=max_digits)


# ---------------------------------------------------------------- 2008-era statistics table

LEGACY_ROWS: tuple[tuple[str, str], ...] = (
    ("proactive.items_total", r"主动公开(?:政府)?(?:信息|文件)数"),
    ("applications.new_received", r"受理(?:依申请公开信息|政府信息公开申请|申请)总数"),
    ("applications.channel.in_person", r"当面申请数"),
    ("applications.channel.fax", r"(?<!、)传真申请数"),
    ("applications.channel.email", r"电子邮件申请数"),
    ("applications.channel.online", r"(?:网上|网站|网络)申请数"),
    ("applications.channel.letter", r"信函申请数"),
    ("applications.total_handled", r"对申请的答复(?:总)?数"),
    ("applications.granted", r"同意公开答复数"),
    ("applications.partially_granted", r"同意部分公开答复数"),
    ("applications.refused.total", r"(?:否决|不予|不同意)公开答复数"),
    ("applications.other.total", r"其[他它]类型答复数"),
    ("review.total", r"行政复议数"),
    ("litigation.total", r"行政诉讼数"),
)
_UNIT = re.compile(r"\s*(?:条|件|个|项|份|次|宗|起)?\s*")


def _cum_ok(vals: Sequence[float]) -> bool:
    return vals[1] >= vals[0]


def parse_legacy(
    doc: Document,
) -> tuple[dict[str, float], dict[str, list[float]], dict[str, Provenance], list[str]]:
    """The 政府信息公开情况统计表 of 2008–2018 reports: each row is
    label, unit, this year, and (usually) 历年累计.

    Returns decided values, undecided candidate lists (for prose to settle),
    provenance and warnings.
    """
    text = doc.text
    head = re.search(r"指标名称", text)
    if head is None:
        heads = list(re.finditer(r"政府信息公开情况统计表", text))
        if not heads:
            return {}, {}, {}, []
        head = heads[-1]
    start = head.start()
    # a line may end inside the header word (a scan, a narrow PDF column)
    two = re.search(r"历\s*年\s*累\s*计", text[start : start + 400]) is not None
    n = 2 if two else 1
    decided: dict[str, float] = {}
    undecided: dict[str, list[float]] = {}
    prov: dict[str, Provenance] = {}
    warns: list[str] = []
    for key, pat in LEGACY_ROWS:
        m = re.compile(rf"(?:\d[.．、]\s*)?{pat}").search(text, start)
        if m is None:
            continue
        u = _UNIT.match(text, m.end())
        pos = u.end() if u else m.end()
        groups = [(0, 2, _cum_ok)] if two else []
        v = read_values(doc, pos, min(len(text), pos + 60), n, groups=groups, max_digits=8)
        if v is None:
            continue
        if v.decided and v.values and v.values[0] is not None:
            decided[key] = float(v.values[0])
        elif v.candidates:
            undecided[key] = sorted({c[0] for c in v.candidates})
            if len(undecided[key]) == 1:
                decided[key] = undecided.pop(key)[0]
        else:
            continue
        prov[key] = _prov(doc, v, m.group(), "本年度")
    return decided, undecided, prov, warns
