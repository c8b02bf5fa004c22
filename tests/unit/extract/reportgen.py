"""Builds the same gb2021 annual report as HTML (GBK, rowspans/colspans), PDF
(table running over a page break), DOCX (merged cells), DOC (via
LibreOffice), flattened text (one cell per line) and run-together text.

The figures come from :data:`SPEC`, written by hand so the identities hold;
the tests compare what the engine reads with SPEC, not with the engine.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile

from schemas.catalogue import APPLICANT_COLUMNS

TITLE = "示例市示例区人民政府2022年政府信息公开工作年度报告"
AGENCY = "示例市示例区人民政府"
YEAR = 2022
INTRO = [
    "本报告由示例市示例区人民政府办公室编制。本报告所列数据的统计期限自2022年1月1日起至2022年12月31日止。",
    "一、总体情况",
    "2022年，我区持续推进政府信息公开工作。2023年3月20日发布。",
    "我区坚持以人民为中心的发展思想，持续深化政务公开，不断完善工作制度和机制，通过政府门户网站、"
    "政务新媒体等渠道全年主动公开政府信息3456条，及时回应社会关切。",
    "二、主动公开政府信息情况",
]
OUTRO = [
    "五、存在的主要问题及改进情况",
    "一是公开质量有待提高；二是解读形式不够丰富。",
    "六、其他需要报告的事项",
    "本年度收取政府信息公开信息处理费0元。",
]

PROACTIVE = [  # (label, values) gb2021
    ("规章", [1, 0, 12]),
    ("行政规范性文件", [5, 2, 40]),
    ("行政许可", [1234]),
    ("行政处罚", [56]),
    ("行政强制", [7]),
    ("行政事业性收费", [12.5]),
]
PROACTIVE_KEYS = {
    "proactive.regulations.issued": 1,
    "proactive.regulations.repealed": 0,
    "proactive.regulations.in_force": 12,
    "proactive.normative_documents.issued": 5,
    "proactive.normative_documents.repealed": 2,
    "proactive.normative_documents.in_force": 40,
    "proactive.licensing.decisions": 1234,
    "proactive.penalties.decisions": 56,
    "proactive.coercive_measures.decisions": 7,
    "proactive.fees.amount_wan_yuan": 12.5,
}

# (group label or None, sub-group label or None, row label, key, 7 values)
APPS = [
    ("一、本年新收政府信息公开申请数量", None, None, "applications.new_received", [40, 3, 0, 1, 0, 2, 46]),
    ("二、上年结转政府信息公开申请数量", None, None, "applications.carried_over", [2, 0, 0, 0, 0, 0, 2]),
    ("三、本年度办理结果", "（一）予以公开", None, "applications.granted", [10, 1, 0, 0, 0, 1, 12]),
    (
        "三、本年度办理结果",
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        None,
        "applications.partially_granted",
        [5, 0, 0, 0, 0, 0, 5],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "1.属于国家秘密",
        "applications.refused.state_secret",
        [1, 0, 0, 0, 0, 0, 1],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "2.其他法律行政法规禁止公开",
        "applications.refused.prohibited_by_law",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "3.危及“三安全一稳定”",
        "applications.refused.security_stability",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "4.保护第三方合法权益",
        "applications.refused.third_party_rights",
        [2, 0, 0, 0, 0, 0, 2],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "5.属于三类内部事务信息",
        "applications.refused.internal_affairs",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "6.属于四类过程性信息",
        "applications.refused.process_information",
        [3, 1, 0, 0, 0, 0, 4],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "7.属于行政执法案卷",
        "applications.refused.enforcement_case_file",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（三）不予公开",
        "8.属于行政查询事项",
        "applications.refused.administrative_query",
        [1, 0, 0, 0, 0, 0, 1],
    ),
    (
        "三、本年度办理结果",
        "（四）无法提供",
        "1.本机关不掌握相关政府信息",
        "applications.unable.not_held",
        [8, 1, 0, 1, 0, 0, 10],
    ),
    (
        "三、本年度办理结果",
        "（四）无法提供",
        "2.没有现成信息需要另行制作",
        "applications.unable.needs_creation",
        [2, 0, 0, 0, 0, 0, 2],
    ),
    (
        "三、本年度办理结果",
        "（四）无法提供",
        "3.补正后申请内容仍不明确",
        "applications.unable.unclear_after_correction",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（五）不予处理",
        "1.信访举报投诉类申请",
        "applications.not_processed.petition_complaint",
        [3, 0, 0, 0, 0, 0, 3],
    ),
    (
        "三、本年度办理结果",
        "（五）不予处理",
        "2.重复申请",
        "applications.not_processed.duplicate",
        [1, 0, 0, 0, 0, 0, 1],
    ),
    (
        "三、本年度办理结果",
        "（五）不予处理",
        "3.要求提供公开出版物",
        "applications.not_processed.publication",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（五）不予处理",
        "4.无正当理由大量反复申请",
        "applications.not_processed.excessive_repeated",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（五）不予处理",
        "5.要求行政机关确认或重新出具已获取信息",
        "applications.not_processed.confirmation_request",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    (
        "三、本年度办理结果",
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "applications.other.no_correction",
        [2, 0, 0, 0, 0, 0, 2],
    ),
    (
        "三、本年度办理结果",
        "（六）其他处理",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "applications.other.fee_unpaid",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    ("三、本年度办理结果", "（六）其他处理", "3.其他", "applications.other.other", [1, 0, 0, 0, 0, 1, 2]),
    ("三、本年度办理结果", "（七）总计", None, "applications.total_handled", [39, 3, 0, 1, 0, 2, 45]),
    ("四、结转下年度继续办理", None, None, "applications.carried_forward", [3, 0, 0, 0, 0, 0, 3]),
]
REVIEW = [1, 1, 0, 0, 2, 0, 1, 0, 1, 2, 1, 0, 0, 0, 1]
APPLICANT_COLS = APPLICANT_COLUMNS  # the catalogue's column order, as the SPEC rows print them


def expected_metrics() -> dict[str, float]:
    """Every figure the report states, plus the parent totals it implies."""
    m: dict[str, float] = {k: float(v) for k, v in PROACTIVE_KEYS.items()}
    for *_, key, vals in APPS:
        m[key] = float(vals[-1])
    sums = {
        "applications.refused.total": "applications.refused.",
        "applications.unable.total": "applications.unable.",
        "applications.not_processed.total": "applications.not_processed.",
        "applications.other.total": "applications.other.",
    }
    for parent, prefix in sums.items():
        m[parent] = float(sum(v[-1] for *_, k, v in APPS if k.startswith(prefix)))
    for bi, block in enumerate(("review", "litigation.direct", "litigation.after_review")):
        for ci, col in enumerate(("upheld", "corrected", "other", "pending", "total")):
            m[f"{block}.{col}"] = float(REVIEW[bi * 5 + ci])
    m["fees.collected_yuan"] = 0.0
    m["proactive.items_total"] = 3456.0
    return m


def _fmt(v: float) -> str:
    return f"{v:g}"


# ------------------------------------------------------------------ text forms


def flattened_text() -> str:
    """One cell per line, as seeds/004 (Word tables pasted as text)."""
    out = (
        [TITLE, ""]
        + INTRO
        + ["第二十条第（一）项", "信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]
    )
    for label, vals in PROACTIVE[:2]:
        out += [label] + [_fmt(v) for v in vals]
    for head, rows in (("第二十条第（五）项", PROACTIVE[2:3]), ("第二十条第（六）项", PROACTIVE[3:5])):
        out += [head, "信息内容", "本年处理决定数量"]
        for label, vals in rows:
            out += [label] + [_fmt(v) for v in vals]
    out += [
        "第二十条第（八）项",
        "信息内容",
        "本年收费金额（单位：万元）",
        "行政事业性收费",
        _fmt(PROACTIVE[5][1][0]),
    ]
    out += [
        "三、收到和处理政府信息公开申请情况",
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
        "申请人情况",
        "自然人",
        "法人或其他组织",
        "总计",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
    ]
    last = (None, None)
    for g, s, r, _, vals in APPS:
        if g != last[0]:
            out.append(g)
        if s and s != last[1]:
            out.append(s)
        if r:
            out.append(r)
        last = (g, s)
        out += [_fmt(v) for v in vals]
    out += [
        "四、政府信息公开行政复议、行政诉讼情况",
        "行政复议",
        "行政诉讼",
        "结果维持",
        "结果纠正",
        "其他结果",
        "尚未审结",
        "总计",
        "未经复议直接起诉",
        "复议后起诉",
    ] + ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2
    out += [_fmt(v) for v in REVIEW]
    out += OUTRO
    return "\n".join(out) + "\n"


def run_together_text() -> str:
    """The whole article on one line, cells joined with no separator (crawler)."""
    lines = flattened_text().split("\n")
    return lines[0] + "\n" + "".join(lines[1:]) + "\n"


# ------------------------------------------------------------------ HTML


def html_gbk() -> bytes:
    h = [
        f"<html><head><meta http-equiv='Content-Type' content='text/html; charset=gbk'><title>{TITLE}</title>",
        "<style>td{border:1px solid}</style><script>var x='一、本年新收政府信息公开申请数量 9 9 9';</script></head><body>",
        f"<h1>{TITLE}</h1>",
    ] + [f"<p>{x}</p>" for x in INTRO]
    h.append(
        "<table><tr><td colspan='4'>第二十条第（一）项</td></tr>"
        "<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>"
    )
    for label, vals in PROACTIVE[:2]:
        h.append("<tr><td>" + label + "</td>" + "".join(f"<td>{_fmt(v)}</td>" for v in vals) + "</tr>")
    h.append(
        "<tr><td colspan='4'>第二十条第（五）项</td></tr><tr><td>信息内容</td><td colspan='3'>本年处理决定数量</td></tr>"
    )
    h.append(f"<tr><td>行政许可</td><td colspan='3'>{_fmt(PROACTIVE[2][1][0])}</td></tr>")
    h.append(
        "<tr><td colspan='4'>第二十条第（六）项</td></tr><tr><td>信息内容</td><td colspan='3'>本年处理决定数量</td></tr>"
    )
    for label, vals in PROACTIVE[3:5]:
        h.append(f"<tr><td>{label}</td><td colspan='3'>{_fmt(vals[0])}</td></tr>")
    h.append(
        "<tr><td colspan='4'>第二十条第（八）项</td></tr><tr><td>信息内容</td><td colspan='3'>本年收费金额（单位：万元）</td></tr>"
    )
    h.append(f"<tr><td>行政事业性收费</td><td colspan='3'>{_fmt(PROACTIVE[5][1][0])}</td></tr></table>")
    h.append("<p>三、收到和处理政府信息公开申请情况</p><table>")
    h.append(
        "<tr><td rowspan='3' colspan='3'>（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>"
        "<td colspan='7'>申请人情况</td></tr>"
        "<tr><td rowspan='2'>自然人</td><td colspan='5'>法人或其他组织</td><td rowspan='2'>总计</td></tr>"
        "<tr><td>商业企业</td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>"
    )
    g_count: dict[str, int] = {}
    s_count: dict[str, int] = {}
    for g, s, _r, _, _ in APPS:
        g_count[g] = g_count.get(g, 0) + 1
        if s:
            s_count[s] = s_count.get(s, 0) + 1
    seen_g: set[str] = set()
    seen_s: set[str] = set()
    for g, s, r, _, vals in APPS:
        cells = ""
        if s is None:
            cells += f"<td colspan='3'>{g}</td>"
        else:
            if g not in seen_g:
                cells += f"<td rowspan='{g_count[g]}'>{g}</td>"
                seen_g.add(g)
            if r is None:
                cells += f"<td colspan='2'>{s}</td>"
            elif s not in seen_s:
                cells += f"<td rowspan='{s_count[s]}'>{s}</td>"
                seen_s.add(s)
            if r is not None:
                cells += f"<td>{r}</td>"
        cells += "".join(f"<td>{_fmt(v)}</td>" for v in vals)
        h.append(f"<tr>{cells}</tr>")
    h.append(
        "</table><p>四、政府信息公开行政复议、行政诉讼情况</p><table>"
        "<tr><td colspan='5'>行政复议</td><td colspan='10'>行政诉讼</td></tr>"
        "<tr><td rowspan='2'>结果维持</td><td rowspan='2'>结果纠正</td><td rowspan='2'>其他结果</td>"
        "<td rowspan='2'>尚未审结</td><td rowspan='2'>总计</td><td colspan='5'>未经复议直接起诉</td>"
        "<td colspan='5'>复议后起诉</td></tr><tr>" + "<td>结果维持</td><td>结果纠正</td><td>其他结果</td>"
        "<td>尚未审结</td><td>总计</td>"
        * 2
        + "</tr><tr>"
        + "".join(f"<td>{_fmt(v)}</td>" for v in REVIEW)
        + "</tr></table>"
    )
    h += [f"<p>{x}</p>" for x in OUTRO] + ["</body></html>"]
    return "\n".join(h).encode("gbk")


# ------------------------------------------------------------------ DOCX


def _grid_rows() -> list[list[str]]:
    """The application table as a 10-column grid (label columns 0-2)."""
    rows = [
        ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "", "", "申请人情况"]
        + [""] * 6,
        ["", "", "", "自然人", "法人或其他组织", "", "", "", "", "总计"],
        ["", "", "", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""],
    ]
    for g, s, r, _, vals in APPS:
        rows.append([g, s or "", r or ""] + [_fmt(v) for v in vals])
    return rows


def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph(TITLE)
    for x in INTRO:
        d.add_paragraph(x)
    t = d.add_table(rows=0, cols=4)
    t.add_row().cells[0].text = "第二十条第（一）项"
    r = t.add_row().cells
    for i, x in enumerate(["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]):
        r[i].text = x
    for label, vals in PROACTIVE[:2]:
        r = t.add_row().cells
        r[0].text = label
        for i, v in enumerate(vals):
            r[i + 1].text = _fmt(v)
    for head, sub, rows in (
        ("第二十条第（五）项", "本年处理决定数量", PROACTIVE[2:3]),
        ("第二十条第（六）项", "本年处理决定数量", PROACTIVE[3:5]),
        ("第二十条第（八）项", "本年收费金额（单位：万元）", PROACTIVE[5:6]),
    ):
        c = t.add_row().cells
        c[0].merge(c[3]).text = head
        c = t.add_row().cells
        c[0].text = "信息内容"
        c[1].merge(c[3]).text = sub
        for label, vals in rows:
            c = t.add_row().cells
            c[0].text = label
            c[1].merge(c[3]).text = _fmt(vals[0])
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    grid = _grid_rows()
    t = d.add_table(rows=len(grid), cols=10)
    for ri, row in enumerate(grid):
        for ci, x in enumerate(row):
            if x:
                t.cell(ri, ci).text = x
    # merges: header block, 申请人情况, 法人或其他组织, label groups
    t.cell(0, 0).merge(t.cell(2, 2))
    t.cell(0, 3).merge(t.cell(0, 9))
    t.cell(1, 4).merge(t.cell(1, 8))
    t.cell(1, 3).merge(t.cell(2, 3))
    t.cell(1, 9).merge(t.cell(2, 9))
    start = 3
    spans: dict[tuple[int, str], list[int]] = {}
    for i, (g, s, r, _, _) in enumerate(APPS):
        ri = start + i
        if s is None:
            continue
        spans.setdefault((0, g), []).append(ri)
        if r is not None:
            spans.setdefault((1, s), []).append(ri)
    for i, (g, s, r, _, _) in enumerate(APPS):
        ri = start + i
        if s is None:
            a = t.cell(ri, 0).merge(t.cell(ri, 2))
            a.text = g
        elif r is None:
            a = t.cell(ri, 1).merge(t.cell(ri, 2))
            a.text = s
    for (col, label), rows in spans.items():
        if len(rows) > 1:
            m = t.cell(rows[0], col).merge(t.cell(rows[-1], col))
            m.text = label
    d.add_paragraph("四、政府信息公开行政复议、行政诉讼情况")
    t = d.add_table(rows=4, cols=15)
    t.cell(0, 0).merge(t.cell(0, 4)).text = "行政复议"
    t.cell(0, 5).merge(t.cell(0, 14)).text = "行政诉讼"
    for i, x in enumerate(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]):
        t.cell(1, i).merge(t.cell(2, i)).text = x
        t.cell(2, 5 + i).text = x
        t.cell(2, 10 + i).text = x
    t.cell(1, 5).merge(t.cell(1, 9)).text = "未经复议直接起诉"
    t.cell(1, 10).merge(t.cell(1, 14)).text = "复议后起诉"
    for i, v in enumerate(REVIEW):
        t.cell(3, i).text = _fmt(v)
    for x in OUTRO:
        d.add_paragraph(x)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ PDF


def pdf_bytes(grid: bool = True, repeat_header: bool = False) -> bytes:
    """``grid=False`` draws no ruling lines: the reader must fall back to text lines.
    ``repeat_header`` repeats the application table's header rows on the next page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    st = ParagraphStyle("cn", fontName="STSong-Light", fontSize=10, leading=14, wordWrap="CJK")
    small = ParagraphStyle("cn7", fontName="STSong-Light", fontSize=7, leading=9, wordWrap="CJK")
    story: list = [Paragraph(TITLE, st)] + [Paragraph(x, st) for x in INTRO]
    style = [("FONT", (0, 0), (-1, -1), "STSong-Light", 8)]
    if grid:
        style.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
    prow = [["第二十条第（一）项", "", "", ""], ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]]
    prow += [[label] + [_fmt(v) for v in vals] for label, vals in PROACTIVE[:2]]
    prow += [
        ["第二十条第（五）项", "", "", ""],
        ["信息内容", "本年处理决定数量", "", ""],
        ["行政许可", _fmt(1234), "", ""],
        ["第二十条第（六）项", "", "", ""],
        ["信息内容", "本年处理决定数量", "", ""],
        ["行政处罚", "56", "", ""],
        ["行政强制", "7", "", ""],
        ["第二十条第（八）项", "", "", ""],
        ["信息内容", "本年收费金额（单位：万元）", "", ""],
        ["行政事业性收费", _fmt(12.5), "", ""],
    ]
    pst = list(style) + [("SPAN", (1, r), (3, r)) for r in range(4, len(prow)) if prow[r][2] == ""]
    pst += [("SPAN", (0, r), (3, r)) for r in range(len(prow)) if prow[r][1] == ""]
    story.append(Table(prow, style=pst))
    story += [Spacer(1, 200), Paragraph("三、收到和处理政府信息公开申请情况", st)]
    grid = _grid_rows()
    data = [[Paragraph(c, small) if len(c) > 8 else c for c in row] for row in grid]
    tst = list(style) + [
        ("SPAN", (0, 0), (2, 2)),
        ("SPAN", (3, 0), (9, 0)),
        ("SPAN", (4, 1), (8, 1)),
        ("SPAN", (3, 1), (3, 2)),
        ("SPAN", (9, 1), (9, 2)),
    ]
    for i, (_g, s, r, _, _) in enumerate(APPS):
        ri = 3 + i
        if s is None:
            tst.append(("SPAN", (0, ri), (2, ri)))
        elif r is None:
            tst.append(("SPAN", (1, ri), (2, ri)))
    story.append(
        Table(data, colWidths=[40, 70, 150] + [30] * 7, style=tst, repeatRows=3 if repeat_header else 0)
    )
    story.append(Paragraph("四、政府信息公开行政复议、行政诉讼情况", st))
    heads = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    rv = [
        ["行政复议"] + [""] * 4 + ["行政诉讼"] + [""] * 9,
        heads[:] + ["未经复议直接起诉"] + [""] * 4 + ["复议后起诉"] + [""] * 4,
        [""] * 5 + heads + heads,
        [_fmt(v) for v in REVIEW],
    ]
    rst = list(style) + [
        ("FONT", (0, 0), (-1, -1), "STSong-Light", 6),
        ("SPAN", (0, 0), (4, 0)),
        ("SPAN", (5, 0), (14, 0)),
        ("SPAN", (5, 1), (9, 1)),
        ("SPAN", (10, 1), (14, 1)),
    ]
    rst += [("SPAN", (i, 1), (i, 2)) for i in range(5)]
    story.append(Table(rv, style=rst, colWidths=[30] * 15))
    story += [Paragraph(x, st) for x in OUTRO]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=TITLE).build(story)
    return buf.getvalue()


# ------------------------------------------------------------------ DOC (LibreOffice)


def doc_bytes() -> bytes:
    """The DOCX converted to Word 97 .doc by LibreOffice (must be installed)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise RuntimeError("LibreOffice is required to build the .doc fixture (deploy/apt-packages.txt)")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "report.docx")
        with open(src, "wb") as f:
            f.write(docx_bytes())
        subprocess.run(
            [
                exe,
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                "doc:MS Word 97",
                "--outdir",
                tmp,
                src,
            ],
            check=True,
            capture_output=True,
            timeout=180,
            env={**os.environ, "HOME": tmp},
        )
        with open(os.path.join(tmp, "report.doc"), "rb") as f:
            return f.read()
