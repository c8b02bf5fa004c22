"""Second-request list pages recognised from the page itself: JCMS
dataproxy.jsp groups and JSON APIs, including the hostile totals."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from services.ingest.feeds import dataproxy_requests, read_list_page

COL = "http://gov.test/col/col4711/index.html"
PAGE = """<html><div id="9001"><script type="text/xml"><datastore><nextgroup><![CDATA[
<a href="/module/jpage/dataproxy.jsp?page=1&amp;appid=1&amp;webid=3&amp;columnid=4711&amp;unitid=9001"></a>
]]></nextgroup><recordset></recordset></datastore></script></div>
<script>$('#9001').jpage({perPage: 15, params: {col: 1, webname: 'x'}})</script></html>"""


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_jcms_column_asks_for_its_first_group_of_records() -> None:
    [first] = read_list_page(PAGE, COL).pages
    q = _query(first)
    assert first.startswith("http://gov.test/module/jpage/dataproxy.jsp?")
    assert (q["columnid"], q["unitid"], q["startrecord"], q["endrecord"], q["perpage"]) == (
        "4711",
        "9001",
        "1",
        "45",
        "15",
    )
    assert (q["col"], q["webname"]) == ("1", "x")


def test_a_dataproxy_answer_yields_its_reports_and_the_following_groups() -> None:
    url = "http://gov.test/module/jpage/dataproxy.jsp?columnid=4711&startrecord=1&endrecord=45&perpage=15"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>100</totalrecord><recordset>'
        '<record><![CDATA[<li><a href="/art/2024/1/15/art_1.html" title="某局2023年政府信息公开工作年度报告">'
        "某局2023年政府信息公开工作年度报告</a><span>2024-01-15</span></li>]]></record></recordset></datastore>"
    )
    page = read_list_page(xml, url)
    assert [(r.url, r.year) for r in page.reports] == [("http://gov.test/art/2024/1/15/art_1.html", 2023)]
    assert [(_query(p)["startrecord"], _query(p)["endrecord"]) for p in page.pages] == [
        ("46", "90"),
        ("91", "100"),
    ]


def test_a_hostile_total_is_bounded() -> None:
    url = "http://gov.test/module/jpage/dataproxy.jsp?startrecord=1&endrecord=10"
    assert len(dataproxy_requests("<totalrecord>999999999999</totalrecord>", url)) < 1001


def test_a_json_api_named_by_a_script_is_read_and_paged() -> None:
    html = '<html><ul id="l"></ul><script>$.getJSON("/api/column/list?columnId=12&page=1", render)</script></html>'
    [api] = read_list_page(html, "http://gov.test/zwgk/nb/").pages
    assert api == "http://gov.test/api/column/list?columnId=12&page=1"
    answer = {
        "data": {
            "totalPage": 3,
            "list": [
                {
                    "title": "2023年政府信息公开工作年度报告",
                    "url": "/zwgk/nb/t1.htm",
                    "publishDate": "2024-01-20",
                },
                {"title": "关于2024年部门预算的公告", "url": "/zwgk/ys.htm"},
                {"title": "2022年政府信息公开年报", "link": "https://gov.test/files/2022.pdf"},
            ],
        }
    }
    page = read_list_page(json.dumps(answer, ensure_ascii=False), api)
    assert [(r.url, r.year, r.is_attachment) for r in page.reports] == [
        ("http://gov.test/zwgk/nb/t1.htm", 2023, False),
        ("https://gov.test/files/2022.pdf", 2022, True),
    ]
    assert page.reports[0].published_at is not None
    assert [_query(p)["page"] for p in page.pages] == ["2", "3"]
    assert (
        read_list_page(json.dumps(answer), api.replace("page=1", "page=2")).pages == []
    )  # only page 1 names the rest
