"""Annual-report link recognition, years, dates, pagination, articles."""

from __future__ import annotations

from datetime import date

import pytest

from services.ingest.discovery import (
    is_annual_report,
    is_attachment_url,
    page_fingerprint,
    parse_article,
    parse_date,
    parse_list_page,
    report_year,
    url_date,
)


@pytest.mark.parametrize(
    "title",
    [
        "2023年政府信息公开工作年度报告",
        "平潭综合实验区2011年政府信息公开工作年度报告",
        "杭州市市场监督管理局2017年政府信息公开工作年度报告",
        "2017年度政府信息公开工作报告",
        "市工商局2011年度政府信息公开年度报告",
        "广州市市场监督管理局2019年政府信息公开年报",
        "廣州市市場監督管理局2019年政府信息公開工作年度報告",
        "臺北市政府2022年政府資訊公開工作年度報告",
        "平潭综合实验区君山片区管理局 2022年政府信息公开工作年度报告",
        "二〇二三年度政务公开工作年度报告",
    ],
)
def test_annual_report_titles(title: str) -> None:
    assert is_annual_report(title)


@pytest.mark.parametrize(
    "title",
    [
        "关于2014年政府信息公开工作要点落实情况的函",
        "2024年政务公开工作要点",
        "关于开展2023年度企业年报工作的通知",
        "2023年政府信息公开工作年度报告解读",
        "图解：2023年政府信息公开工作年度报告",
        "2024年部门预算",
        "政府信息公开指南",
        "关于报送2023年政府信息公开工作年度报告的通知",
        "2023年国民经济和社会发展统计公报",
        "首页",
    ],
)
def test_other_titles_are_not_reports(title: str) -> None:
    assert not is_annual_report(title)


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("平潭综合实验区2011年政府信息公开工作年度报告", 2011),
        ("2017年度政府信息公开工作报告", 2017),
        ("二〇二三年政府信息公开工作年度报告", 2023),
        ("二零一九年度报告", 2019),
        ("政府信息公开工作年度报告", None),
    ],
)
def test_report_year(text: str, year: int | None) -> None:
    assert report_year(text) == year


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("发布时间：2024-01-15 09:00", date(2024, 1, 15)),
        ("[2024/1/5]", date(2024, 1, 5)),
        ("2023.12.31", date(2023, 12, 31)),
        ("发布时间:2016年12月05日 浏览次数", date(2016, 12, 5)),
        ("2023-13-45 then 2023-02-03", date(2023, 2, 3)),
        ("no date here", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_url_date_from_trs_article_urls() -> None:
    assert url_date("https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202001/t20200120_80576.htm") == date(
        2020, 1, 20
    )
    assert url_date("https://example.gov.cn/art/2024/1/15/art_1_2.html") is None


def test_attachment_urls() -> None:
    assert is_attachment_url("http://a.gov.cn/x/P020240115.PDF")
    assert is_attachment_url("http://a.gov.cn/module/download/downfile.jsp?classid=0&filename=abc.docx")
    assert is_attachment_url("http://a.gov.cn/x/report.wps")
    assert not is_attachment_url("http://a.gov.cn/x/t20240115_1.htm")
    assert not is_attachment_url("http://a.gov.cn/x/report.txt")
    assert is_attachment_url("http://a.gov.cn/x/report.txt", (".txt",))


LIST_PAGE = """<html><head><meta charset="gbk"></head><body>
<div class="nav"><a href="/">首页</a><a href="../zfxxgkzn/">政府信息公开指南</a></div>
<ul class="list">
 <li><a href="./202401/t20240115_101.htm" title="某市2023年政府信息公开工作年度报告" target="_blank">某市2023年政府信息公开工作年度...</a><span>2024-01-15</span></li>
 <li><a href="./202301/t20230110_99.htm">某市2022年政府資訊公開工作年度報告</a><span>2023-01-10</span></li>
 <li><a href="../../xxgk/P020220301.pdf">某市2021年政府信息公开年报</a><span>2022-03-01</span></li>
 <li><a href="./202212/t20221201_98.htm">关于2022年政务公开工作要点落实情况的通知</a><span>2022-12-01</span></li>
 <li><a href="javascript:void(0)">2020年政府信息公开工作年度报告</a></li>
</ul>
<div class="page"><script>createPageHTML(4, 0, "index", "htm");</script>
<a href="index_1.htm">下一页</a></div>
</body></html>"""


def test_list_page_links_years_dates_and_relative_urls() -> None:
    page = parse_list_page(LIST_PAGE, "http://sz.example.gov.cn/zwgk/nb/index.htm")
    assert [link.url for link in page.reports] == [
        "http://sz.example.gov.cn/zwgk/nb/202401/t20240115_101.htm",
        "http://sz.example.gov.cn/zwgk/nb/202301/t20230110_99.htm",
        "http://sz.example.gov.cn/xxgk/P020220301.pdf",
    ]
    first, second, third = page.reports
    assert first.title == "某市2023年政府信息公开工作年度报告"  # whole title from the title attribute
    assert (first.year, first.published_at) == (2023, date(2024, 1, 15))
    assert (second.year, second.published_at) == (2022, date(2023, 1, 10))
    assert third.is_attachment and not first.is_attachment


def test_trs_pagination_lists_every_page() -> None:
    page = parse_list_page(LIST_PAGE, "http://sz.example.gov.cn/zwgk/nb/index.htm")
    assert page.pages == [f"http://sz.example.gov.cn/zwgk/nb/index_{n}.htm" for n in (1, 2, 3)]


def test_next_page_link_without_a_pager_script() -> None:
    html = '<a href="list.jsp?page=2">下一页</a><a href="list.jsp?page=3">3</a><a href="/">首页</a>'
    page = parse_list_page(html, "http://x.gov.cn/col/list.jsp?page=1")
    assert page.pages == ["http://x.gov.cn/col/list.jsp?page=2", "http://x.gov.cn/col/list.jsp?page=3"]


def test_link_pattern_and_selector_hints() -> None:
    html = """<div id="side"><a href="/a.htm">甲局2023年政府信息公开工作年度报告</a></div>
    <div id="main"><a href="/b.htm">市场监督管理局2023年政府信息公开工作年度报告</a>
    <a href="/c.htm">交通局2023年政府信息公开工作年度报告</a></div>"""
    page = parse_list_page(html, "http://x.gov.cn/", list_selector="#main", link_pattern="市场监督")
    assert [link.url for link in page.reports] == ["http://x.gov.cn/b.htm"]
    page = parse_list_page(html, "http://x.gov.cn/", exclude_pattern="交通")
    assert [link.url for link in page.reports] == ["http://x.gov.cn/a.htm", "http://x.gov.cn/b.htm"]


ARTICLE = """<html><head><meta name="ArticleTitle" content="某市2023年政府信息公开工作年度报告">
<meta name="PubDate" content="2024-01-15 10:30"></head><body>
<h1>某市2023年政府信息公开工作年度报告</h1>
<div class="content">详见附件。
<a href="./P020240115_1.pdf">某市2023年政府信息公开工作年度报告.pdf</a>
<a href="/module/download/downfile.jsp?filename=report.docx">下载word版</a>
<a href="./P020240115_1.pdf">重复链接</a>
<a href="t20240115_100.htm">上一篇</a></div></body></html>"""


def test_article_attachments_title_and_dates() -> None:
    article = parse_article(ARTICLE, "http://x.gov.cn/nb/202401/t20240115_101.htm")
    assert article.title == "某市2023年政府信息公开工作年度报告"
    assert (article.year, article.published_at) == (2023, date(2024, 1, 15))
    assert [a.url for a in article.attachments] == [
        "http://x.gov.cn/nb/202401/P020240115_1.pdf",
        "http://x.gov.cn/module/download/downfile.jsp?filename=report.docx",
    ]


def test_article_date_from_label_then_url() -> None:
    labelled = parse_article("<h1>x</h1><p>发布日期：2019年3月2日</p>", "http://x.gov.cn/a.htm")
    assert labelled.published_at == date(2019, 3, 2)
    from_url = parse_article("<h1>x</h1>", "http://x.gov.cn/201904/t20190405_1.htm")
    assert from_url.published_at == date(2019, 4, 5)


def test_fingerprint_ignores_scripts_and_whitespace_but_not_text() -> None:
    a = page_fingerprint("<p>报告 正文</p><script>var t='123';</script>")
    b = page_fingerprint("<p>报告\n  正文</p><script>var t='456';</script>")
    c = page_fingerprint("<p>报告 正文（修订）</p>")
    assert a == b != c


def test_jcms_datastore_records_are_read() -> None:
    html = """<html><body><div id="1229196373"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=1&path=/&columnid=1&unitid=1&webname=x&permissiontype=0"></a>]]></nextgroup>
<recordset>
<record><![CDATA[<li><a href="/art/2024/1/20/art_1229196373_58.html" title="杭州市市场监督管理局2023年政府信息公开工作年度报告" target="_blank">杭州市市场监督管理局2023年...</a><span>2024-01-20</span></li>]]></record>
<record><![CDATA[<li><a href="/art/2023/1/18/art_1229196373_41.html" title="关于2023年度企业年报工作的通知">关于2023年度企业年报工作的通知</a><span>2023-01-18</span></li>]]></record>
</recordset></datastore></script></div></body></html>"""
    page = parse_list_page(html, "https://scjg.hangzhou.gov.cn/col/col1229196373/index.html")
    assert [(link.url, link.year, link.published_at) for link in page.reports] == [
        ("https://scjg.hangzhou.gov.cn/art/2024/1/20/art_1229196373_58.html", 2023, date(2024, 1, 20)),
    ]
