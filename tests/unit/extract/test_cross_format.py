"""The same report as HTML (GBK, rowspans/colspans), PDF (table over a page
break), DOCX (merged cells), DOC (really converted by LibreOffice) and
flattened text must give the same figures, and those figures are the ones
the report was built from (reportgen.SPEC), not what the engine happened to
read from one of them."""

from __future__ import annotations

import shutil

import pytest
import reportgen

from schemas.events import Template
from services.extract.engine import extract

EXPECTED = reportgen.expected_metrics()


def _build(fmt: str) -> tuple[bytes, str]:
    if fmt == "html":
        return reportgen.html_gbk(), "report.html"
    if fmt == "pdf":
        return reportgen.pdf_bytes(), "report.pdf"
    if fmt == "docx":
        return reportgen.docx_bytes(), "report.docx"
    if fmt == "doc":
        return reportgen.doc_bytes(), "report.doc"
    return reportgen.flattened_text().encode("utf-8"), "report.txt"


@pytest.fixture(scope="module")
def reports() -> dict[str, object]:
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.fail(
            "LibreOffice is required for the DOC case (deploy/apt-packages.txt); it must not be skipped"
        )
    return {
        fmt: extract(*_build(fmt)[:1], filename=_build(fmt)[1])
        if fmt != "doc"
        else extract(reportgen.doc_bytes(), filename="report.doc")
        for fmt in ("html", "pdf", "docx", "doc", "text")
    }


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx", "doc", "text"])
def test_every_format_reads_the_spec(reports: dict, fmt: str) -> None:
    r = reports[fmt]
    assert r.format == fmt
    assert r.template == Template.GB2021
    assert r.agency == reportgen.AGENCY and r.year == reportgen.YEAR
    got = {k: v for k, v in r.metrics.items() if not k.startswith("rates.")}
    assert got == EXPECTED
    assert all(r.checks.values()) and {
        "intake_balance",
        "outcome_sum",
        "applicant_sums",
        "review_sum",
    } <= set(r.checks)
    for *_, key, vals in reportgen.APPS:
        assert r.breakdown[key] == dict(zip(reportgen.APPLICANT_COLS, map(float, vals), strict=False))
    assert set(r.provenance) >= set(r.metrics)


def test_formats_agree_with_each_other(reports: dict) -> None:
    first = reports["html"]
    for fmt, r in reports.items():
        assert r.metrics == first.metrics, fmt
        assert r.breakdown == first.breakdown, fmt
        assert r.checks == first.checks, fmt


def test_table_provenance_names_page_table_row(reports: dict) -> None:
    p = reports["pdf"].provenance["applications.carried_forward"]
    assert p.kind == "table" and p.table is not None and "结转下年度" in (p.row or "")
    first = reports["pdf"].provenance["applications.new_received"]
    assert first.page is not None and p.page is not None and p.page > first.page  # runs over page breaks
    h = reports["html"].provenance["applications.refused.third_party_rights"]
    assert h.kind == "table" and h.table == 1 and h.column == "总计"


def test_run_together_text_never_reads_a_wrong_figure() -> None:
    r = extract(reportgen.run_together_text().encode("gb18030"), filename="crawled.txt")
    wrong = {k: v for k, v in r.metrics.items() if k in EXPECTED and v != EXPECTED[k]}
    invented = [k for k in r.metrics if k not in EXPECTED and not k.startswith("rates.")]
    assert not wrong and not invented
    missing = [k for k in EXPECTED if k not in r.metrics]
    # only the three-cell proactive rows without an identity may stay undecided
    assert all(k.startswith(("proactive.regulations", "proactive.normative_documents")) for k in missing), (
        missing
    )


def test_traditional_script_html() -> None:
    import opencc

    s2t = opencc.OpenCC("s2t")
    html = reportgen.html_gbk().decode("gbk").replace("charset=gbk", "charset=utf-8")
    r = extract(s2t.convert(html).encode("utf-8"), filename="trad.html")
    assert r.script is not None and r.script.value == "traditional"
    got = {k: v for k, v in r.metrics.items() if not k.startswith("rates.")}
    assert got == EXPECTED


def test_html_page_with_navigation_and_layout_table() -> None:
    h = reportgen.html_gbk().decode("gbk")
    body = h.split("<body>")[1].split("</body>")[0]
    page = (
        "<html><head><meta charset='utf-8'><title>"
        + reportgen.TITLE
        + "_示例区人民政府网</title></head><body>"
        "<div class=nav><a>首页</a> &gt; <a>政务公开</a> &gt; <a>年度报告</a></div><table width=100%><tr>"
        "<td>来源：区政府办 时间：2023-03-20 字号：大 中 小</td></tr><tr><td>" + body + "</td></tr></table>"
        "<div>版权所有 2008-2023 示例区人民政府</div></body></html>"
    )
    r = extract(page.encode("utf-8"), filename="page.html")
    assert r.agency == reportgen.AGENCY and r.year == reportgen.YEAR
    assert {k: v for k, v in r.metrics.items() if not k.startswith("rates.")} == EXPECTED


def test_legacy_statistics_table_in_html_with_unit_column() -> None:
    rows = [
        ("主动公开信息数", "条", "2026", "3542"),
        ("受理依申请公开信息总数", "条", "21", "121"),
        ("对申请的答复总数", "条", "20", "118"),
        ("其中：1.同意公开答复数", "条", "17", "90"),
        ("2.同意部分公开答复数", "条", "2", "3"),
        ("3.否决公开答复数", "条", "1", "25"),
        ("行政复议数", "件", "0", "1"),
        ("行政诉讼数", "件", "/", "0"),
    ]
    table = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    page = (
        "<html><body><p>某县人民政府2012年政府信息公开工作年度报告</p><p>本报告所列数据的统计期限自2012年1月1日起。"
        "一、主动公开政府信息情况。二、依申请公开情况。三、行政复议情况。四、存在的主要问题。</p>"
        "<table><tr><td>指标名称</td><td>计量单位</td><td>2012年度</td><td>历年累计</td></tr>"
        + table
        + "</table></body></html>"
    )
    r = extract(page.encode("utf-8"), filename="old.html")
    assert r.template == Template.FREETEXT
    m = r.metrics
    assert (m["proactive.items_total"], m["applications.new_received"], m["applications.total_handled"]) == (
        2026,
        21,
        20,
    )
    assert (
        m["applications.granted"],
        m["applications.partially_granted"],
        m["applications.refused.total"],
    ) == (17, 2, 1)
    assert m["review.total"] == 0
    assert "litigation.total" not in m  # "/" is absent, not 0


def test_pdf_without_ruling_lines_reads_the_spec_or_nothing() -> None:
    r = extract(reportgen.pdf_bytes(grid=False), filename="nogrid.pdf")
    got = {k: v for k, v in r.metrics.items() if not k.startswith("rates.")}
    assert not {k: v for k, v in got.items() if EXPECTED.get(k) != v}  # never a wrong figure
    assert got == EXPECTED  # and here the identities confirm the text-line reading


def test_pdf_table_header_repeated_on_the_next_page() -> None:
    r = extract(reportgen.pdf_bytes(repeat_header=True), filename="repeat.pdf")
    assert {k: v for k, v in r.metrics.items() if not k.startswith("rates.")} == EXPECTED
