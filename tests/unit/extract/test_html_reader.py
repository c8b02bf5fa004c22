"""The HTML reader lays text out as a browser does: inline elements join with
nothing added; block elements, <br>, source whitespace and &nbsp; separate
words; the same in prose, table cells and the page title. Page chrome (the
information-index table) becomes metadata, never report text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.extract.engine import extract
from services.extract.engine.readers import html


def _read(body: str, head: str = "") -> html.RawDocument:  # type: ignore[name-defined]
    return html.read(f"<html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>".encode())


def _cells(body: str) -> list[str]:
    return [b.text for b in _read(body).blocks if b.table is not None]


def _prose(body: str) -> list[str]:
    return [b.text for b in _read(body).blocks if b.table is None]


def test_runs_split_inside_a_number_join_in_a_cell() -> None:
    assert _cells(
        "<table><tr><td><span>2</span><span>0</span></td>"
        "<td><p class=MsoNormal><span lang=EN-US>1</span><span lang=EN-US>2<o:p></o:p></span></p></td>"
        "</tr></table>"
    ) == ["20", "12"]


def test_nested_inline_tags_add_nothing() -> None:
    cell = "<td><font><b><span>3</span></b><i><u><a href=#>4</a></u></i><sub>5</sub></font></td>"
    assert _cells(f"<table><tr>{cell}</tr></table>") == ["345"]
    assert _prose(
        "<p><strong>本年</strong><em>新收</em><small>申请</small><span><span>4</span>6</span>件</p>"
    ) == ["本年新收申请46件"]


def test_nbsp_padding_is_space_not_part_of_the_number() -> None:
    assert _cells(
        "<table><tr><td>&nbsp;12&nbsp;</td><td>&nbsp;&nbsp;</td><td>1&nbsp;2</td></tr></table>"
    ) == ["12", "", "1 2"]


def test_br_and_paragraphs_inside_a_cell_separate() -> None:
    assert _cells(
        "<table><tr><td>自然人<br>12</td><td><p>商业</p><p>企业</p></td>"
        "<td><div>3</div><div>4</div></td></tr></table>"
    ) == ["自然人 12", "商业 企业", "3 4"]


def test_whitespace_between_inline_tags_is_one_space() -> None:
    assert _cells(
        "<table><tr><td><span>1</span> <span>2</span></td><td><span>3</span>\n\n <span>4</span></td>"
        "</tr></table>"
    ) == ["1 2", "3 4"]
    assert _prose("<p><span>a</span>   \t <span>b</span></p>") == ["a b"]


def test_source_line_wrap_inside_chinese_text_disappears() -> None:
    # editors wrap long lines in the source; between two Han characters the
    # wrap is not a space (CSS segment-break rule), next to a digit it is
    assert _prose("<p>政府信息\n公开工作</p><p>申请\n12件</p>") == ["政府信息公开工作", "申请 12件"]


def test_hidden_elements_and_pre() -> None:
    assert _prose(
        "<p>申请<span style='display: none'>9</span>12件<span style='mso-hide:all'>PAGE</span></p>"
        "<div hidden>导航</div><pre>自然人\n商业企业</pre>"
    ) == ["申请12件", "自然人", "商业企业"]
    assert _prose("<p>地区<select><option>北京</option><option>上海</option></select></p>") == [
        "地区",
        "北京",
        "上海",
    ]


def test_title_and_prose_use_the_same_rule() -> None:
    raw = _read(
        "<h1><span>某县</span><span>2023</span><span>年</span></h1><p>x<br>y</p>",
        head="<title>\n  某县政府\n  信息公开&nbsp;\n</title>",
    )
    assert raw.meta["page_title"] == "某县政府信息公开"
    assert [b.text for b in raw.blocks] == ["某县2023年", "x", "y"]


def test_every_character_its_own_span_reads_the_row() -> None:
    row = ["本年新收政府信息公开申请数量", "40", "3", "0", "1", "0", "2", "46"]
    spanned = "".join(
        "<td>" + "".join(f"<span style='mso-bidi-font-size:10.5pt'>{ch}</span>" for ch in c) + "</td>"
        for c in row
    )
    assert _cells(f"<table><tr>{spanned}</tr></table>") == row


# ------------------------------------------------------------------ page chrome

_INDEX = (
    "<table class=xxgk><tr><td>索引号：</td><td>11330000MB1234567X/2024-00012</td><td>主题分类：</td><td>其他</td></tr>"
    "<tr><td><span>名</span>  <span>称</span>：</td><td colspan=3>某某县发展和改革局2023年政府信息公开工作年度报告</td></tr>"
    "<tr><td>发布机构：</td><td>某某县发展和改革局</td><td>发文日期：</td><td>2024-01-18</td></tr></table>"
)


def test_info_index_table_is_metadata_not_text() -> None:
    raw = _read(_INDEX + "<p>正文</p>")
    assert raw.meta["publisher"] == "某某县发展和改革局"
    assert raw.meta["title"] == "某某县发展和改革局2023年政府信息公开工作年度报告"
    assert raw.meta["published"] == "2024-01-18"
    assert [b.text for b in raw.blocks] == ["正文"]


def test_info_index_with_label_and_value_in_one_cell() -> None:
    raw = _read(
        "<table><tr><td><b>发布机构：</b>某某县发展和改革局</td><td><b>索引号：</b>113</td></tr></table>"
    )
    assert raw.meta["publisher"] == "某某县发展和改革局" and not raw.blocks


def test_a_report_table_is_not_an_info_index() -> None:
    raw = _read(
        "<table><tr><td>信息内容</td><td>本年制发件数</td></tr><tr><td>规章</td><td>1</td></tr></table>"
    )
    assert "publisher" not in raw.meta and len(raw.blocks) == 4


def test_agency_from_an_article_page_with_info_index() -> None:
    page = (
        _INDEX + "<div class=article><p>某某县发展和改革局2023年政府信息公开工作年度报告</p>"
        "<p>本报告所列数据的统计期限自2023年1月1日起至2023年12月31日止。</p>"
        "<p>一、总体情况</p><p>二、主动公开政府信息情况</p><p>三、收到和处理政府信息公开申请情况</p></div>"
    )
    r = extract(
        (
            "<html><head><meta charset='utf-8'><title>某某县人民政府</title></head><body>"
            + page
            + "</body></html>"
        ).encode(),
        filename="page.html",
    )
    assert r.agency == "某某县发展和改革局" and r.year == 2023
    assert r.published_at is not None and r.published_at.isoformat() == "2024-01-18"


def test_info_index_label_only_agency_does_not_glue_to_the_title() -> None:
    # without the article's own title line the report title is the 名称 field
    page = (
        _INDEX + "<p>本报告所列数据的统计期限自2023年1月1日起至2023年12月31日止。一、总体情况。"
        "三、收到和处理政府信息公开申请情况</p>"
    )
    r = extract(f"<html><body>{page}</body></html>".encode(), filename="page.html")
    assert r.agency == "某某县发展和改革局"


def test_info_index_written_as_list_lines() -> None:
    raw = _read(
        "<ul class=xxgk><li><b>索引号：</b>113/2024-00012</li><li><b>名 称：</b>某某县发展和改革局2023年"
        "政府信息公开工作年度报告</li><li><b>发布机构：</b>某某县发展和改革局 <b>发文日期：</b>2024-01-18</li></ul>"
        "<p>来源：本网</p><p>一、总体情况</p><p>正文</p><p>正文</p><p>名称：不是索引</p>"
    )
    assert raw.meta["publisher"] == "某某县发展和改革局" and raw.meta["published"] == "2024-01-18"
    assert raw.meta["title"] == "某某县发展和改革局2023年政府信息公开工作年度报告"
    # the index lines leave the text; a lone label line far from them stays
    assert [b.text for b in raw.blocks] == ["一、总体情况", "正文", "正文", "名称：不是索引"]


def test_an_article_header_line_alone_is_not_an_index() -> None:
    raw = _read("<div>来源：区政府办 时间：2023-03-20 字号：大 中 小</div><p>正文</p>")
    assert "publisher" not in raw.meta and len(raw.blocks) == 2


def test_a_long_table_with_index_like_labels_stays_content() -> None:
    rows = "".join(
        f"<tr><td>{label}</td><td>{n}</td></tr>" for n, label in enumerate(["分类", "来源"] + ["行"] * 20)
    )
    raw = _read(f"<table>{rows}</table>")
    assert "publisher" not in raw.meta and len(raw.blocks) == 44


# --- the reader's own tree from lxml's parser events (it replaced BeautifulSoup's; the
# --- same page must read the same: each case below read so through BeautifulSoup too)


def test_text_around_a_removed_element_stays_and_joins() -> None:
    # script, style, noscript, head and title are dropped with their content, not the text after them
    assert _prose("<p>本年<script>var x='9';</script>新收<noscript>请开启脚本</noscript>46件</p>") == [
        "本年新收46件"
    ]
    assert _prose("<p>a<!-- 注释 -->b</p>") == ["ab"]


def test_the_title_is_read_apart_from_the_page_text() -> None:
    raw = _read("<p>正文</p>", head="<title>\n  某某县人民政府\n年报&nbsp;</title>")
    assert raw.meta["page_title"] == "某某县人民政府年报"
    assert [b.text for b in raw.blocks] == ["正文"]


def test_an_end_tag_without_its_element_is_ignored() -> None:
    assert _prose("<div>本年</span>新收</div>") == ["本年新收"]
    assert _cells("<table><tr><td>1</font>2</td></tr></table>") == ["12"]
    # libxml2 drops such end tags itself; the tree keeps BeautifulSoup's rule for the events it is
    # given: an end closes the latest open element of its name and those opened after it, or nothing
    tree = html._TreeBuilder()
    tree.start("div", {})
    tree.start("span", {})
    tree.data("a")
    tree.end("p")  # nothing open of that name
    tree.data("b")
    tree.end("div")  # closes the span too
    tree.data("c")
    root = tree.close()
    div = root.children[0]
    assert isinstance(div, html._Element) and div.name == "div" and root.children[1:] == ["c"]
    span = div.children[0]
    assert isinstance(span, html._Element) and span.children == ["a", "b"]


def test_pre_keeps_its_lines_without_ruby_annotations() -> None:
    assert _prose("<pre>申请<ruby>數<rt>shu</rt></ruby>量\n  12</pre>") == ["申请數量", "12"]


def test_a_row_has_only_its_own_cells_and_a_table_only_its_own_rows() -> None:
    raw = _read(
        "<table><tr><td>a</td><td><div><table><tr><td>x</td></tr></table></div></td><td>b</td></tr>"
        "<tr><td>c</td></tr></table>"
    )
    # an outer table holding a table is a layout table: each of its own cells is laid out as a container
    assert [(b.text, b.table, b.row, b.col) for b in raw.blocks] == [
        ("a", None, None, None),
        ("x", 0, 0, 0),
        ("b", None, None, None),
        ("c", None, None, None),
    ]
    # with no table inside, the same cells are one table's grid
    raw = _read("<table><tr><td>a</td><td><div>y</div></td><td>b</td></tr><tr><td>c</td></tr></table>")
    assert [(b.text, b.row, b.col, b.row_end) for b in raw.blocks] == [
        ("a", 0, 0, False),
        ("y", 0, 1, False),
        ("b", 0, 2, True),
        ("c", 1, 0, True),
    ]


def test_a_table_inside_a_removed_element_does_not_make_a_layout_table() -> None:
    raw = _read(
        "<table><tr><td>1</td><td><noscript><table><tr><td>9</td></tr></table></noscript>2</td></tr></table>"
    )
    assert [(b.text, b.table, b.col) for b in raw.blocks] == [("1", 0, 0), ("2", 0, 1)]


def test_links_inside_removed_elements_are_not_listed() -> None:
    raw = _read(
        "<ul><li><a href='/a'>某局2022年政府信息公开工作年度报告</a></li></ul>"
        "<noscript><a href='/b'>某局2021年政府信息公开工作年度报告</a></noscript><p>正文</p>"
    )
    assert raw.meta["link_titles"] == "某局2022年政府信息公开工作年度报告"


def test_a_page_without_a_body_is_read_whole() -> None:
    raw = html.read("<html><head><title>标题</title></head><frameset><p>正文</p></frameset></html>".encode())
    assert raw.meta["page_title"] == "标题"
    assert "正文" in [b.text for b in raw.blocks]


@given(st.text(alphabet=" \t\n\r\f\xa0\u2029\u3000\x0b中文a1", max_size=12))
def test_collapse_without_its_shortcut(raw: str) -> None:
    # text with no whitespace or line mark skips the whitespace rule: the same lines as running it
    import re

    def every_step(raw: str) -> list[str]:
        def space(m: re.Match[str]) -> str:
            before = m.string[m.start() - 1] if m.start() else ""
            after = m.string[m.end()] if m.end() < len(m.string) else ""
            wide = before and after and html._is_wide(before) and html._is_wide(after)
            return "" if "\n" in m.group() and wide else " "

        text = html._SOURCE_WHITESPACE.sub(space, raw).replace("\xa0", " ")
        return [line.strip() for line in text.split(html._LINE_BREAK) if line.strip()]

    assert html._collapse(raw) == every_step(raw)


def test_a_long_style_hides_as_a_short_one_does() -> None:
    # styles over 256 characters are not cached (the cache outlives the page), still read
    long_style = "font-family:仿宋_GB2312;" * 20 + "mso-hide:all"
    assert len(long_style) > 256
    assert _prose(f"<p>本年<span style='{long_style}'>9</span>新收</p><p style='{long_style}'>x</p>") == [
        "本年新收"
    ]
    assert _prose("<p>本年<span style='DISPLAY: NONE'>9</span>新收</p>") == ["本年新收"]
