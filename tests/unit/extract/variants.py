"""Re-render a report's standard tables in the layouts converters produce.

A :class:`Tables` holds a report's three standard tables as rows of cells
(the proactive table, the application table with its three label columns and
seven applicant columns, the review/litigation table) plus the text around
them. It is built either from :mod:`reportgen`'s hand-written SPEC or from a
real report of the shared corpus (its figures are what the engine read from
the clean form, which the scorer checks against the hand-made truth).

:func:`render` writes it out as Markdown, tab-separated, CSV-like or
space-separated text, optionally in one of the broken layouts of issue 17
(label above its figures, labels split over two lines, no labels at all, a
stray cell pushed into the next row, a cell repeated above its row with a
note, generic column headers, only some applicant columns filled). The tests
then require the variant to read exactly like the clean form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schemas import catalogue as cat
from schemas.events import ExtractedReport
from services.extract.engine import extract, readers
from services.extract.engine.document import CELL_SEP, ROW_SEP, linearise
from services.extract.engine.readers import text as text_reader
from tests.unit.extract import reportgen

Row = list[str]
ABSENT = "/"

# the application table's label columns: group, sub-group, row (as printed in the gb2021 template)
APP_LABELS: dict[str, tuple[str, str, str]] = {
    key: (g, s or "", r or "") for g, s, r, key, _ in reportgen.APPS
}
OTHER_SINGLE_ROW = ("三、本年度办理结果", "（六）其他处理", "")  # gb2019: 其他处理 has no sub-rows
APPLICANT_HEADER = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
REVIEW_HEADS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


@dataclass
class Tables:
    head: str  # text before the tables
    tail: str  # text after them
    proactive: list[Row]
    applications: list[tuple[str, Row]]  # (catalogue key, 3 label cells + 7 value cells)
    review: Row  # 15 cells
    template: str = "gb2021"


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return ABSENT
    s = repr(float(v))
    s = s.removesuffix(".0")
    return ("+" + s) if signed and v > 0 else s


# ------------------------------------------------------------------ building the model


def from_spec() -> Tables:
    """reportgen's generated gb2021 report."""
    head = "\n".join([reportgen.TITLE, ""] + reportgen.INTRO)
    tail = "\n".join(reportgen.OUTRO)
    metrics = reportgen.expected_metrics()
    breakdown = {
        key: dict(zip(reportgen.APPLICANT_COLS, map(float, vals), strict=False))
        for *_, key, vals in reportgen.APPS
    }
    return _tables(head, tail, "gb2021", metrics, breakdown, {k for *_, k, _ in reportgen.APPS})


def from_corpus(path: Path) -> tuple[Tables, ExtractedReport]:
    """A gb2021/gb2019 report of the shared corpus, and its clean extraction."""
    data = path.read_bytes()
    clean = extract(data, filename=path.name)
    if clean.template.value not in ("gb2021", "gb2019"):
        raise ValueError(f"{path.name}: {clean.template.value} has no standard tables")
    if path.suffix == ".txt":
        text = text_reader.decode(data)
    else:  # the text of a PDF, cells joined by spaces
        doc = linearise(readers.read(data, path.name))
        text = doc.text.replace(CELL_SEP, " ").replace(ROW_SEP, "")
    start = text.index("第二十条")
    review = text.index("复议后起诉", start)
    end_m = re.compile(r"五、\s*存在的主要问题|存在的主要问题").search(text, review)
    end = end_m.start() if end_m else len(text)
    printed = {
        k
        for k, p in clean.provenance.items()
        if k.startswith("applications.")
        and p.kind == "table"
        and not (p.text or "").startswith("sum of")
        and k in clean.breakdown
    }
    return _tables(
        text[:start], text[end:], clean.template.value, clean.metrics, clean.breakdown, printed
    ), clean


def _tables(
    head: str,
    tail: str,
    template: str,
    metrics: dict[str, float],
    breakdown: dict[str, dict[str, float]],
    printed: set[str],
) -> Tables:
    return Tables(
        head=head,
        tail=tail,
        template=template,
        proactive=_proactive(template, metrics),
        applications=_applications(breakdown, printed),
        review=[_fmt(metrics.get(f"{b}.{c}")) for b in cat.REVIEW_BLOCKS for c in cat.REVIEW_COLUMNS],
    )


def _proactive(template: str, m: dict[str, float]) -> list[Row]:
    def row(label: str, prefix: str, cols: tuple[str, ...], signed: tuple[str, ...] = ()) -> Row:
        return [label] + [_fmt(m.get(f"{prefix}.{c}"), c in signed) for c in cols] + [""] * (3 - len(cols))

    if template == "gb2021":
        return [
            ["第二十条第（一）项", "", "", ""],
            ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
            row("规章", "proactive.regulations", ("issued", "repealed", "in_force")),
            row("行政规范性文件", "proactive.normative_documents", ("issued", "repealed", "in_force")),
            ["第二十条第（五）项", "", "", ""],
            ["信息内容", "本年处理决定数量", "", ""],
            row("行政许可", "proactive.licensing", ("decisions",)),
            ["第二十条第（六）项", "", "", ""],
            ["信息内容", "本年处理决定数量", "", ""],
            row("行政处罚", "proactive.penalties", ("decisions",)),
            row("行政强制", "proactive.coercive_measures", ("decisions",)),
            ["第二十条第（八）项", "", "", ""],
            ["信息内容", "本年收费金额（单位：万元）", "", ""],
            row("行政事业性收费", "proactive.fees", ("amount_wan_yuan",)),
        ]
    items = ("items_prev_year", "items_change", "decisions")
    amount = m.get("proactive.procurement.amount_wan_yuan")
    return [
        ["第二十条第（一）项", "", "", ""],
        ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
        row("规章", "proactive.regulations", ("issued", "published_new", "published_total")),
        row("规范性文件", "proactive.normative_documents", ("issued", "published_new", "published_total")),
        ["第二十条第（五）项", "", "", ""],
        ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
        row("行政许可", "proactive.licensing", items, ("items_change",)),
        row("其他对外管理服务事项", "proactive.other_services", items, ("items_change",)),
        ["第二十条第（六）项", "", "", ""],
        ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
        row("行政处罚", "proactive.penalties", items, ("items_change",)),
        row("行政强制", "proactive.coercive_measures", items, ("items_change",)),
        ["第二十条第（八）项", "", "", ""],
        ["信息内容", "上一年项目数量", "本年增/减", ""],
        row("行政事业性收费", "proactive.fees", ("items_prev_year", "items_change"), ("items_change",)),
        ["第二十条第（九）项", "", "", ""],
        ["信息内容", "采购项目数量", "采购总金额", ""],
        [
            "政府集中采购",
            _fmt(m.get("proactive.procurement.projects")),
            _fmt(amount) + "万元" if amount is not None else ABSENT,
            "",
        ],
    ]


def _applications(breakdown: dict[str, dict[str, float]], printed: set[str]) -> list[tuple[str, Row]]:
    """The printed rows in template order; a row the clean form left out is
    printed with absent cells (the variant then states no more than it)."""
    other_single = "applications.other.total" in printed and not any(
        k in printed for k in cat.PARENTS["applications.other.total"]
    )
    rows: list[tuple[str, Row]] = []
    for key, labels in APP_LABELS.items():
        if other_single and key.startswith("applications.other."):
            if key != "applications.other.no_correction":
                continue
            key, labels = "applications.other.total", OTHER_SINGLE_ROW
        cols = breakdown.get(key, {}) if key in printed else {}
        rows.append((key, list(labels) + [_fmt(cols.get(c)) for c in cat.APPLICANT_COLUMNS]))
    return rows


# ------------------------------------------------------------------ broken layouts (on the model)


def _first_occurrences(rows: list[tuple[str, Row]]) -> list[tuple[str, Row]]:
    """Group and sub-group labels only on the first row of their span, as a
    converter writes a rowspan."""
    seen: set[str] = set()
    out = []
    for key, r in rows:
        r = list(r)
        for i in (0, 1):
            if r[i] and r[i] in seen:
                r[i] = ""
            seen.add(r[i])
        out.append((key, r))
    return out


# ------------------------------------------------------------------ rendering

FORMATS = ("markdown", "markdown_bare", "pipes_fullwidth", "grid", "tsv", "csv", "csv_fullwidth", "spaces")
LAYOUTS = (
    "clean",
    "label_above",
    "split_labels",
    "figures_between_label_lines",
    "rowspans_repeated",
    "colspans_repeated",
    "group_totals",
    "unlabeled",
    "stray_cell",
    "stray_cell_up",
    "repeated_note",
    "generic_headers",
    "partial_columns",
)


@dataclass
class _Table:
    rows: list[Row]
    ruled: bool = True


def render(t: Tables, fmt: str, layout: str = "clean") -> str:
    """The report as text with its tables in ``fmt`` and ``layout``."""
    header = APPLICANT_HEADER if layout != "generic_headers" else [f"数据{i}" for i in range(1, 7)] + ["总计"]
    apps = list(t.applications)
    if layout == "group_totals":
        apps = _with_group_totals(apps)
    apps = apps if layout == "rowspans_repeated" else _first_occurrences(apps)
    if layout == "partial_columns":
        apps = [(k, r[:4] + [""] * 5 + r[9:]) for k, r in apps]
    app_rows: list[Row] = [
        ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "", "", "申请人情况"]
        + [""] * 6,
        ["", "", ""] + header,
    ]
    body = [r for _, r in apps]
    proactive = [list(r) for r in t.proactive]
    if layout == "label_above":
        body = [x for r in body for x in (r[:3] + [""] * 7, ["", "", ""] + r[3:])]
        proactive = [
            x for r in proactive for x in ([[r[0], "", "", ""], [""] + r[1:]] if _is_value_row(r) else [r])
        ]
    elif layout == "split_labels":
        body = [x for r in body for x in _split_label(r)]
    elif layout == "figures_between_label_lines":
        body = [x for r in body for x in _label_around_figures(r)]
    elif layout == "unlabeled":
        body = [["", "", ""] + r[3:] for r in body]
    elif layout == "stray_cell":
        body = _stray(body)
    elif layout == "stray_cell_up":
        body = _stray_up(body)
    elif layout == "repeated_note":
        body = _repeat_with_note(body)
        proactive = _repeat_with_note_proactive(proactive)
    tables = [_Table(proactive), _Table(app_rows + body), _Table(_review_rows(t.review))]
    if layout == "colspans_repeated":
        # in the application table only the header and the label columns hold merged cells
        tables = [
            _Table(
                [_colspans_repeated(r, 3 if i == 1 and ri >= 2 else len(r)) for ri, r in enumerate(tb.rows)]
            )
            for i, tb in enumerate(tables)
        ]
    out = [t.head.rstrip("\n"), ""]
    out += _format(tables[0], fmt)
    out += ["三、收到和处理政府信息公开申请情况"] + _format(tables[1], fmt)
    out += ["四、政府信息公开行政复议、行政诉讼情况"] + _format(tables[2], fmt)
    out += ["", t.tail.lstrip("\n")]
    return "\n".join(out) + "\n"


def _is_value_row(r: Row) -> bool:
    return bool(r[0]) and any(re.match(r"^[+-]?\d", c) or c == ABSENT for c in r[1:])


def _split_label(r: Row) -> list[Row]:
    """A long label broken in two: its first half with the figures, the rest
    on the next line (as a PDF converter wraps a narrow column)."""
    label = r[2] or r[1]
    if len(label) < 10:
        return [r]
    cut = len(label) // 2
    head, rest = label[:cut], label[cut:]
    i = 2 if r[2] else 1
    first = list(r)
    first[i] = head
    cont = ["", "", ""] + [""] * 7
    cont[i] = rest
    return [first, cont]


def _with_group_totals(apps: list[tuple[str, Row]]) -> list[tuple[str, Row]]:
    """Some tables print each group's total as a row of its own above its reasons."""
    out: list[tuple[str, Row]] = []
    for key, r in apps:
        parent = next((p for p, children in cat.PARENTS.items() if key == children[0]), None)
        if parent is not None and r[2]:
            children = [x for k, x in apps if k in cat.PARENTS[parent]]
            sums = [
                ABSENT
                if any(c[i] in (ABSENT, "") for c in children)
                else _fmt(sum(float(c[i]) for c in children))
                for i in range(3, 10)
            ]
            out.append((parent, [r[0], r[1], ""] + sums))
        out.append((key, r))
    return out


def _colspans_repeated(r: Row, upto: int) -> Row:
    """A converter that writes a merged cell's content into every column it
    spans (a blank cell right of a filled one, within the first ``upto``)."""
    out = list(r)
    if sum(1 for c in r[1:] if re.match(r"^[+-]?\d", c)) > 1:
        return out  # which of several figures spans the blank columns is not known
    for i in range(1, min(upto, len(out))):
        if not out[i] and out[i - 1]:
            out[i] = out[i - 1]
    return out


def _label_around_figures(r: Row) -> list[Row]:
    """pdftotext -layout: a wrapped label's first line above the figures, its
    second line below them."""
    first, *cont = _split_label(r)
    if not cont:
        return [r]
    return [first[:3] + [""] * 7, ["", "", ""] + first[3:], cont[0]]


def _stray(body: list[Row]) -> list[Row]:
    """The last cell of 予以公开 and of 本机关不掌握相关政府信息 pushed to the
    start of the next row's figures."""
    out = [list(r) for r in body]
    for i, r in enumerate(out[:-1]):
        if r[2] == "1.本机关不掌握相关政府信息" or r[1] == "（一）予以公开":
            last = r.pop()
            r.append("")
            nxt = out[i + 1]
            out[i + 1] = nxt[:3] + [last] + nxt[3:]
    return out


def _stray_up(body: list[Row]) -> list[Row]:
    """The first cell of 部分公开 and of 没有现成信息需要另行制作 pulled up to the
    end of the row above."""
    out = [list(r) for r in body]
    for i, r in enumerate(out[1:], 1):
        if r[2] == "2.没有现成信息需要另行制作" or r[1].startswith("（二）部分公开"):
            first = r.pop(3)
            r.append("")
            out[i - 1] = out[i - 1] + [first]
    return out


def _repeat_with_note(body: list[Row]) -> list[Row]:
    """The total of 予以公开 repeated above its row with a note."""
    out: list[Row] = []
    for r in body:
        if r[1] == "（一）予以公开" and r[-1] != ABSENT:
            out.append(["", "", "", f"{r[-1]}（其中主动公开后告知{r[-1]}件）"] + [""] * 6)
        out.append(r)
    return out


def _repeat_with_note_proactive(rows: list[Row]) -> list[Row]:
    out: list[Row] = []
    for r in rows:
        if r[0] in ("行政规范性文件", "规范性文件") and r[1] != ABSENT:
            out.append(["", f"{r[1]}（其中修订{r[1]}件）", "", ""])
        out.append(r)
    return out


def _review_rows(vals: Row) -> list[Row]:
    return [
        ["行政复议"] + [""] * 4 + ["行政诉讼"] + [""] * 9,
        REVIEW_HEADS + ["未经复议直接起诉"] + [""] * 4 + ["复议后起诉"] + [""] * 4,
        [""] * 5 + REVIEW_HEADS + REVIEW_HEADS,
        list(vals),
    ]


def _format(table: _Table, fmt: str) -> list[str]:
    rows = table.rows
    if fmt == "markdown":
        lines = ["| " + " | ".join(r) + " |" for r in rows]
        return lines[:1] + ["|" + "---|" * len(rows[0])] + lines[1:]
    if fmt == "grid":  # pandoc's grid table: a border line between rows
        border = "+" + "---+" * len(rows[0])
        return [border] + [x for r in rows for x in ("| " + " | ".join(r) + " |", border)]
    if fmt == "markdown_bare":
        return [" | ".join(r) for r in rows]
    if fmt == "pipes_fullwidth":
        return ["｜" + "｜".join(r) + "｜" for r in rows]
    if fmt == "tsv":
        return ["\t".join(r) for r in rows]
    if fmt == "csv":
        return [",".join(f'"{c}"' if "," in c or '"' in c else c for c in r) for r in rows]
    if fmt == "csv_fullwidth":
        return ["，".join(r) for r in rows]
    if fmt == "spaces":
        return [" ".join(c for c in r if c) for r in rows]
    raise ValueError(fmt)


# ------------------------------------------------------------------ the 2008-era statistics table

_LEGACY_HEAD = re.compile(r"指标名称\s*计量\s*单位\s*(?P<year>\d{4})\s*年度\s*历年累计")
_LEGACY_ROW = re.compile(
    r"\s*(?P<label>\S+?)\s+(?P<unit>条|件|个|项)\s+(?P<v1>\d+)(?:\s+(?P<v2>\d+))?(?=\s|$)"
)


@dataclass
class Legacy:
    head: str
    rows: list[Row]  # 指标名称, 计量单位, this year, 历年累计
    tail: str


def legacy_from_corpus(path: Path) -> tuple[Legacy, ExtractedReport] | None:
    """A freetext report's 政府信息公开情况统计表 printed with spaces between
    its cells (as the crawler saved it), or None when it has none."""
    data = path.read_bytes()
    text = text_reader.decode(data)
    m = _LEGACY_HEAD.search(text)
    if m is None:
        return None
    rows: list[Row] = [["指标名称", "计量单位", f"{m.group('year')}年度", "历年累计"]]
    pos = m.end()
    while (r := _LEGACY_ROW.match(text, pos)) is not None:
        rows.append([r.group("label"), r.group("unit"), r.group("v1"), r.group("v2") or ""])
        pos = r.end()
    return Legacy(text[: m.start()], rows, text[pos:]), extract(data, filename=path.name)


def render_legacy(t: Legacy, fmt: str) -> str:
    return "\n".join([t.head.rstrip(), ""] + _format(_Table(t.rows), fmt) + ["", t.tail.lstrip()]) + "\n"


def expected_for(
    clean: ExtractedReport, layout: str
) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, bool]]:
    """What the variant must read (metrics, breakdown, checks): the clean
    form's, except that a blank applicant column states nothing (and leaves
    the applicant identity unchecked), and that rows without labels are
    placed by the template's order only when the report's identities hold (a
    report whose figures break them cannot confirm the order)."""
    metrics = dict(clean.metrics)
    breakdown = {k: dict(v) for k, v in clean.breakdown.items()}
    checks = dict(clean.checks)
    if layout == "unlabeled" and not (checks.get("intake_balance") and checks.get("outcome_sum")):
        derived = ("applications.", "rates.grant", "rates.refusal")
        metrics = {k: v for k, v in metrics.items() if not k.startswith(derived)}
        checks = {k: v for k, v in checks.items() if k not in _APPLICATION_CHECKS}
        return metrics, {}, checks
    if layout == "partial_columns":
        filled = ("natural_person", "total")
        breakdown = {k: {c: x for c, x in v.items() if c in filled} for k, v in breakdown.items()}
        checks.pop("applicant_sums", None)
    return metrics, breakdown, checks


_APPLICATION_CHECKS = ("intake_balance", "outcome_sum", "reason_sums", "applicant_sums")


__all__ = [
    "FORMATS",
    "LAYOUTS",
    "Legacy",
    "Tables",
    "expected_for",
    "from_corpus",
    "from_spec",
    "legacy_from_corpus",
    "render",
    "render_legacy",
]


# ------------------------------------------------------------------ as an agency's article page


def _html_cell(text: str, rowspan: int = 1, colspan: int = 1) -> str:
    span = (f" rowspan='{rowspan}'" if rowspan > 1 else "") + (f" colspan='{colspan}'" if colspan > 1 else "")
    return f"<td{span}>{text}</td>"


def _html_merged_right(rows: list[Row]) -> str:
    """Rows whose blank trailing cells belong to the last printed one (a
    colspan), as the proactive table prints them."""
    out = []
    for r in rows:
        last = max((i for i, c in enumerate(r) if c), default=0)
        cells = [_html_cell(c) for c in r[:last]] + [_html_cell(r[last], colspan=len(r) - last)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "<table border='1'>" + "".join(out) + "</table>"


def _html_applications(apps: list[tuple[str, Row]], merged: bool) -> str:
    """The application table with the template's three header rows; its
    label columns merged with rowspans/colspans (``merged``) or, as a CMS
    editor that lost the merges leaves them, as blank cells."""
    head = (
        f"<tr>{_html_cell('（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）', 3, 3)}"
        f"{_html_cell('申请人情况', colspan=7)}</tr>"
        f"<tr>{_html_cell('自然人', 2)}{_html_cell('法人或其他组织', colspan=5)}{_html_cell('总计', 2)}</tr>"
        "<tr>" + "".join(_html_cell(h) for h in APPLICANT_HEADER[1:6]) + "</tr>"
    )
    rows = [r for _, r in _first_occurrences(apps)]
    body = []
    for i, r in enumerate(rows):
        if not merged:
            body.append("<tr>" + "".join(_html_cell(c) for c in r) + "</tr>")
            continue
        labels = ""
        if r[0] and not r[1] and not r[2]:
            labels = _html_cell(r[0], colspan=3)
        else:
            if r[0]:
                n = 1 + next((k for k, x in enumerate(rows[i + 1 :]) if x[0]), len(rows) - i - 1)
                labels += _html_cell(r[0], rowspan=n)
            if r[1] and not r[2]:
                labels += _html_cell(r[1], colspan=2)
            else:
                if r[1]:
                    n = 1 + next(
                        (k for k, x in enumerate(rows[i + 1 :]) if x[0] or x[1] or not x[2]),
                        len(rows) - i - 1,
                    )
                    labels += _html_cell(r[1], rowspan=n)
                labels += _html_cell(r[2])
        body.append("<tr>" + labels + "".join(_html_cell(c) for c in r[3:]) + "</tr>")
    return "<table border='1'>" + head + "".join(body) + "</table>"


def _html_review(vals: Row) -> str:
    heads = "".join(_html_cell(h) for h in REVIEW_HEADS)
    return (
        "<table border='1'>"
        f"<tr>{_html_cell('行政复议', colspan=5)}{_html_cell('行政诉讼', colspan=10)}</tr>"
        "<tr>"
        + "".join(_html_cell(h, rowspan=2) for h in REVIEW_HEADS)
        + f"{_html_cell('未经复议直接起诉', colspan=5)}{_html_cell('复议后起诉', colspan=5)}</tr>"
        f"<tr>{heads}{heads}</tr><tr>" + "".join(_html_cell(v) for v in vals) + "</tr></table>"
    )


def render_article_page(t: Tables, merged: bool = True, other_years: tuple[int, ...] = ()) -> str:
    """The report as an agency's article page: the site's navigation with
    links to ``other_years``' reports above the article, the text as
    paragraphs and the three standard tables as real HTML tables."""

    def paragraphs(text: str) -> str:
        return "".join(f"<p>{line.strip()}</p>" for line in text.split("\n") if line.strip())

    head = re.split(r"=+ *正文 *=+", t.head)[-1]  # a crawled text's header is not the page's text
    crawled_title = re.search(r"^标题[:：]\s*(.+)$", t.head, re.MULTILINE)
    lines = [x.strip() for x in head.split("\n") if x.strip()]
    title = crawled_title.group(1).strip() if crawled_title else lines.pop(0) if lines else ""
    links = "".join(
        f"<li><a href='/art/{y}.html'>{title.replace(str(t_year), str(y)) if (t_year := _year_in(title)) else title}"
        "</a></li>"
        for y in other_years
    )
    return (
        "<html><head><meta charset='utf-8'><title>政府信息公开年报_政务公开</title></head><body>"
        "<div class='crumb'>当前位置：<a href='/'>首页</a> &gt; <a href='/zwgk'>政务公开</a> &gt; 年度报告</div>"
        f"<div class='side'><h3>相关报告</h3><ul>{links}</ul></div>"
        f"<div class='article'><h1>{title}</h1><div class='info'>来源：本站 发布时间：2023-01-20 字号：[大 中 小]</div>"
        f"<div class='TRS_Editor'>{paragraphs(chr(10).join(lines))}"
        + _html_merged_right(t.proactive)
        + "<p>三、收到和处理政府信息公开申请情况</p>"
        + _html_applications(t.applications, merged)
        + "<p>四、政府信息公开行政复议、行政诉讼情况</p>"
        + _html_review(t.review)
        + paragraphs(t.tail)
        + "</div></div><div class='footer'>主办：本站 版权所有</div></body></html>"
    )


def _year_in(title: str) -> int | None:
    m = re.search(r"(?:19|20)\d{2}", title)
    return int(m.group()) if m else None
