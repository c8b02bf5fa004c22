"""The pure parts of the OCR reader: Tesseract's TSV, ruling lines found on
a page image, and the characters handed to pdfplumber."""

from __future__ import annotations

import numpy as np

from schemas.events import Provenance
from services.extract.engine import pipeline
from services.extract.engine.readers import ocr
from services.extract.engine.tables import TableResult

_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def _row(
    level: int, page: int, left: int, top: int, width: int, height: int, conf: float, text: str = ""
) -> str:
    return f"{level}\t{page}\t1\t1\t1\t1\t{left}\t{top}\t{width}\t{height}\t{conf}\t{text}"


def test_tsv_words_by_image_on_their_line_box() -> None:
    tsv = "\n".join(
        [
            _HEADER,
            _row(4, 1, 10, 100, 300, 50, -1),
            _row(5, 1, 10, 110, 40, 30, 95.5, "一"),  # a flat glyph: its box is lower than the line's
            _row(5, 1, 60, 100, 40, 50, 91, "总计"),
            _row(4, 2, 0, 0, 80, 40, -1),
            _row(5, 2, 0, 0, 80, 40, 88, "21"),
            _row(5, 2, 0, 0, 80, 40, 88, " "),  # blank words are dropped
        ]
    )
    words = ocr.parse_tsv(tsv)
    assert [w.text for w in words[1]] == ["一", "总计"]
    assert {(w.line_top, w.line_height) for w in words[1]} == {(100.0, 50.0)}
    assert [(w.text, w.conf) for w in words[2]] == [("21", 88.0)]


def test_a_word_boxed_over_the_next_ends_where_the_next_starts() -> None:
    tsv = "\n".join(
        [
            _HEADER,
            _row(4, 1, 0, 40, 500, 50, -1),
            _row(5, 1, 233, 44, 258, 45, 96, "掌握"),
            _row(5, 1, 287, 40, 68, 50, 96, "相关"),
        ]
    )
    first, second = ocr.parse_tsv(tsv)[1]
    assert first.left + first.width == second.left
    chars, _ = ocr.to_chars([first, second], 1, 0.0, 842.0, 1.0)
    assert "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])) == "掌握相关"


def test_an_unsure_figure_is_left_unread_an_unsure_word_is_kept() -> None:
    words = [
        ocr.Word("550", 0, 0, 60, 20, 42.0, 0, 20),
        ocr.Word("收缆", 100, 0, 40, 20, 10.0, 0, 20),
        ocr.Word("21", 200, 0, 40, 20, 93.0, 0, 20),
    ]
    chars, unsure = ocr.to_chars(words, 3, 1000.0, 842.0, 300 / 72)
    assert "".join(c["text"] for c in chars) == "〓〓〓收缆21"
    assert unsure == 1
    assert chars[-1]["ocr_conf"] == 93.0 and chars[-1]["page_number"] == 3
    assert chars[-1]["doctop"] == 1000.0 + chars[-1]["top"]


def _grid(open_bottom: bool) -> np.ndarray:
    """A 3-column table of 3 rows drawn 3 px thick; with ``open_bottom``
    the page break cut it below its last row."""
    img = np.full((600, 800), 255, dtype=np.uint8)
    for y in (100, 200, 300) + (() if open_bottom else (400,)):
        img[y : y + 3, 100:700] = 0
    for x in (100, 300, 500, 697):
        img[100:403, x : x + 3] = 0
    img[250:260, 150:170] = 0  # a glyph: far shorter than a ruling line
    return img


def test_ruling_lines_found_once_each_glyphs_ignored() -> None:
    ink = _grid(open_bottom=False) < 160
    h = ocr._merge(ocr._runs(ink, 100))
    v = ocr._merge(ocr._runs(ink.T, 100))
    assert sorted((a, b) for a, b, _, _ in h) == [(100, 102), (200, 202), (300, 302), (400, 402)]
    assert sorted((a, b) for a, b, _, _ in v) == [(100, 102), (300, 302), (500, 502), (697, 699)]
    assert ocr._closing_rules(h, v) == []


def test_a_table_cut_by_the_page_break_gets_its_open_border() -> None:
    ink = _grid(open_bottom=True) < 160
    h = ocr._merge(ocr._runs(ink, 100))
    v = ocr._merge(ocr._runs(ink.T, 100))
    closing = ocr._closing_rules(h, v)
    assert len(closing) == 1
    y, _, left, right = closing[0]
    assert abs(y - 403) <= 1 and left == 100 and right == 699


def test_figure_cells() -> None:
    def w(t):
        return ocr.Word(t, 0, 0, 10, 10, 90.0, 0, 10)

    assert ocr._is_figure_cell([w("21")]) and ocr._is_figure_cell([]) and ocr._is_figure_cell([w("]")])
    assert not ocr._is_figure_cell([w("1.属于国家秘密")])
    assert not ocr._is_figure_cell([w("—")])  # a dash says "none": not read as a digit


def _ocr_table(unable_total: float) -> TableResult:
    """An application table as OCR might read it: the 无法提供 parent given
    ``unable_total``, its three sub-rows 13 in all, and the intake figures."""
    a = "applications."
    metrics = {
        a + "new_received": 40.0,
        a + "carried_over": 0.0,
        a + "total_handled": 40.0,
        a + "carried_forward": 0.0,
        a + "unable.total": unable_total,
        a + "unable.not_held": 10.0,
        a + "unable.needs_creation": 2.0,
        a + "unable.unclear_after_correction": 1.0,
    }
    return TableResult(metrics=metrics, provenance={k: Provenance(kind="table") for k in metrics})


def test_an_ocr_table_whose_identities_fail_is_left_out() -> None:
    # a garbled sub-row label hands the parent its first sub-row's figure (10, not 13)
    res = _ocr_table(10.0)
    pipeline._distrust_ocr(res)
    assert not [k for k in res.metrics if k.startswith("applications.")]
    assert not res.provenance
    assert any("reason_sums" in w and "left out" in w for w in res.warnings)


def test_an_ocr_table_whose_identities_hold_is_kept() -> None:
    res = _ocr_table(13.0)
    pipeline._distrust_ocr(res)
    assert res.metrics["applications.unable.total"] == 13.0 and not res.warnings


def test_an_unreadable_grid_cell_is_absent_the_rows_other_cells_kept() -> None:
    from services.extract.engine import tables
    from services.extract.engine.document import UNREADABLE, Block, RawDocument, linearise

    head = ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]
    rows = [head, ["规章", "0", "0", "0"], ["行政规范性文件", "0", UNREADABLE, "5"]]
    blocks = [
        Block("二、主动公开政府信息情况"),
        Block("第二十条第（一）项", table=0, row=0, col=0, row_end=True),
    ]
    blocks += [
        Block(text, table=0, row=r + 1, col=c, row_end=c == len(cells) - 1)
        for r, cells in enumerate(rows)
        for c, text in enumerate(cells)
    ]
    res = tables.TableResult()
    tables.parse_proactive(linearise(RawDocument(blocks=blocks, format="pdf")), res)
    assert res.metrics["proactive.normative_documents.issued"] == 0
    assert res.metrics["proactive.normative_documents.in_force"] == 5
    assert "proactive.normative_documents.repealed" not in res.metrics
    assert res.metrics["proactive.regulations.repealed"] == 0


def test_a_group_row_placed_line_by_line_without_its_reasons_is_left_out() -> None:
    # 本机关不掌握 garbled by OCR: the line-by-line reading gave 无法提供 its 10 (of 13)
    a = "applications."
    metrics = {a + "new_received": 40.0, a + "unable.total": 10.0, a + "unable.needs_creation": 3.0}
    res = TableResult(metrics=dict(metrics), provenance={k: Provenance(kind="table") for k in metrics})
    res.line_by_line = {a + "unable.total"}
    pipeline._distrust_ocr(res)
    assert a + "unable.total" not in res.metrics and a + "unable.total" not in res.provenance
    assert res.metrics[a + "unable.needs_creation"] == 3.0
    assert any("unable.total" in w and "left out" in w for w in res.warnings)
    # read next to its own label (the 2019 layout's one-row (六)其他处理): kept
    kept = TableResult(
        metrics={a + "other.total": 0.0}, provenance={a + "other.total": Provenance(kind="table")}
    )
    pipeline._distrust_ocr(kept)
    assert kept.metrics == {a + "other.total": 0.0}


def test_lines_the_page_reading_left_without_a_word_are_found() -> None:
    img = np.full((400, 600), 255, dtype=np.uint8)
    img[40:80, 50:300] = 0  # a line of text Tesseract read
    img[120:150, 50:70] = 0  # a lone "0" on its line, dropped by the layout analysis
    img[200:202, 50:300] = 0  # a speck-thin remnant: no line of text
    img[300:340, 350:380] = 0  # a figure inside a table cell: read with the cell
    read = [ocr.Word("主动公开", 50, 40, 250, 40, 95.0, 40, 40)]
    cells = [(300 / 4, 280 / 4, 500 / 4, 360 / 4)]  # points, at 4 px a point
    assert ocr.unread_lines(img, read, cells, 4.0) == [(50, 120, 70, 150)]


def test_a_word_on_a_vertical_line_is_recognised_as_such() -> None:
    # a column of lone "0"s that Tesseract set as one vertical line of 451 px
    assert ocr._on_a_vertical_line(ocr.Word("局", 297, 1169, 20, 31, 0.0, 749, 451, 25))
    assert not ocr._on_a_vertical_line(ocr.Word("一", 603, 2232, 25, 3, 97.0, 2214, 41, 1800))  # flat
    assert not ocr._on_a_vertical_line(ocr.Word("1", 297, 2290, 10, 31, 96.0, 2290, 40, 10))  # narrow
    # a line box that took in a word of the line below: tall, but wider still
    assert not ocr._on_a_vertical_line(ocr.Word("求", 1500, 400, 40, 40, 95.0, 400, 130, 300))


# The gb2021 application and review tables as a crawler flattened them (the
# national template's labels, seven figures glued to each row), shaped like
# dev-11 of the shared corpus: no application at all, yet 本机关不掌握 5.
_FLATTENED_TABLES = (
    "三、收到和处理政府信息公开申请情况（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    "申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"
    "一、本年新收政府信息公开申请数量0000000二、上年结转政府信息公开申请数量0000000"
    "三、本年度办理结果（一）予以公开0000000（二）部分公开（区分处理的，只计这一情形，不计其他情形）0000000"
    "（三）不予公开1.属于国家秘密00000002.其他法律行政法规禁止公开00000003.危及“三安全一稳定”0000000"
    "4.保护第三方合法权益00000005.属于三类内部事务信息00000006.属于四类过程性信息0000000"
    "7.属于行政执法案卷00000008.属于行政查询事项0000000"
    "（四）无法提供1.本机关不掌握相关政府信息{not_held}2.没有现成信息需要另行制作0000000"
    "3.补正后申请内容仍不明确0000000（五）不予处理1.信访举报投诉类申请00000002.重复申请0000000"
    "3.要求提供公开出版物00000004.无正当理由大量反复申请0000000"
    "5.要求行政机关确认或重新出具已获取信息0000000（六）其他处理"
    "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请0000000"
    "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请0000000"
    "3.其他0000000（七）总计0000000四、结转下年度继续办理0000000"
    "四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计"
    "未经复议直接起诉复议后起诉结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计"
    "000000000000000五、存在的主要问题及改进情况"
)


def _scanned_flattened(not_held: str) -> object:
    """That report read back from a scan (blocks with an OCR confidence),
    本机关不掌握 given these seven figures."""
    from services.extract.engine.document import Block, RawDocument

    raw = RawDocument(
        blocks=[
            Block("某某局2022年政府信息公开工作年度报告", page=1, confidence=93.0),
            Block("一、总体情况二、主动公开政府信息情况", page=1, confidence=92.0),
            Block(_FLATTENED_TABLES.format(not_held=not_held), page=1, confidence=91.0),
        ],
        format="pdf",
    )
    return pipeline._parse(raw, "0" * 64, "scan.pdf")


def test_a_scanned_flattened_table_whose_rows_each_add_up_is_kept_as_printed() -> None:
    # every row's figures follow its label and its applicant columns add up
    # (3 + 2 = 5), so the failing outcome sum is the agency's arithmetic,
    # flagged as for printed text, not a misreading
    report = _scanned_flattened("3000025")
    assert report.metrics["applications.unable.not_held"] == 5  # type: ignore[attr-defined]
    assert report.metrics["applications.new_received"] == 0  # type: ignore[attr-defined]
    assert report.breakdown["applications.unable.not_held"]["natural_person"] == 3  # type: ignore[attr-defined]
    assert report.checks["outcome_sum"] is False  # type: ignore[attr-defined]
    assert any("kept as printed" in w for w in report.warnings)  # type: ignore[attr-defined]


def test_a_scanned_flattened_table_is_left_out_when_a_row_does_not_add_up_either() -> None:
    # the row read "3 0 0 0 0 2 6" (spaced, so not split by the identity): its
    # own sum fails too, and nothing says which figure of the table is wrong
    report = _scanned_flattened("3 0 0 0 0 2 6")
    assert not [k for k in report.metrics if k.startswith("applications.")]  # type: ignore[attr-defined]
    assert any("identities fail" in w and "left out" in w for w in report.warnings)  # type: ignore[attr-defined]


def test_glyphs_before_a_lines_first_word_are_found_with_context() -> None:
    # seed 004: "二、上年结转…" where Tesseract's words start at "、"
    img = np.full((300, 900), 255, dtype=np.uint8)
    img[40:48, 50:86] = 0  # "二": two strokes, one column segment
    img[70:78, 50:86] = 0
    img[72:80, 95:105] = 0  # "、": the first word Tesseract read
    img[40:80, 120:160] = 0  # "上"
    img[40:80, 170:210] = 0  # "年"
    img[40:80, 700:740] = 0  # far along the line
    words = [
        ocr.Word("、", 95, 72, 10, 8, 93.0, 40, 40),
        ocr.Word("上", 120, 40, 40, 40, 92.0, 40, 40),
        ocr.Word("年", 170, 40, 40, 40, 93.0, 40, 40),
        ocr.Word("报", 700, 40, 40, 40, 93.0, 40, 40),
    ]
    # the box runs from the dropped glyph over the words that begin within four line heights;
    # what is kept of its reading ends where the dropped glyph ends
    assert ocr.line_starts(img, words, [], 4.0) == [((50, 40, 210, 80), 86)]


def test_nothing_before_a_line_is_read_when_a_word_covers_it_or_it_is_far_or_a_speck() -> None:
    img = np.full((300, 900), 255, dtype=np.uint8)
    img[40:80, 300:340] = 0  # a glyph of another column: a wide gap before the line's first word
    img[40:80, 500:540] = 0
    img[140:143, 460:470] = 0  # a speck before the next line
    img[130:170, 500:540] = 0
    img[230:270, 440:480] = 0  # covered by a word of another line box on the same band
    img[230:270, 500:540] = 0
    words = [
        ocr.Word("公", 500, 40, 40, 40, 95.0, 40, 40),
        ocr.Word("开", 500, 130, 40, 40, 95.0, 130, 40),
        ocr.Word("3，", 440, 230, 40, 40, 66.0, 232, 38),
        ocr.Word("危及", 500, 230, 40, 40, 65.0, 230, 40),
    ]
    assert ocr.line_starts(img, words, [], 4.0) == []


def test_only_the_characters_over_the_dropped_glyphs_are_kept() -> None:
    read = [
        ocr.Word("二", 12, 0, 53, 40, 93.0, 0, 40),  # boxed up to the "、": its middle decides
        ocr.Word("、", 66, 0, 30, 40, 91.0, 0, 40),
    ]
    assert [w.text for w in ocr.leading(read, 51)] == ["二"]
    # "2." read as one word over the "2" and the "." Tesseract had read: only the "2"
    kept = ocr.leading(
        [ocr.Word("2.", 12, 0, 30, 40, 93.0, 0, 40), ocr.Word("其", 64, 0, 37, 40, 92.0, 0, 40)], 31
    )
    assert [(w.text, w.width) for w in kept] == [("2", 15.0)]
    assert ocr.leading([ocr.Word("(一", 12, 0, 83, 40, 84.0, 0, 40)], 27) == []


def _words(text: str, conf: float, n: int = 30) -> list[ocr.Word]:
    return [ocr.Word(text, 10.0 * i, 0, 10, 10, conf, 0, 10) for i in range(n)]


def test_a_simplified_page_is_read_once_a_traditional_one_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str | None] = []
    readings = {None: _words("政务", 92.0), "chi_tra": _words("政務", 95.0)}

    def recognise(images, psm, *, digits=False, languages=None):  # type: ignore[no-untyped-def]
        calls.append(languages)
        return [readings[languages]]

    monkeypatch.setattr(ocr, "recognise", recognise)
    monkeypatch.setattr(ocr, "installed_languages", lambda: frozenset({"chi_sim", "chi_tra", "eng"}))
    words, model, missing = ocr.script_pass(None)
    assert (model, missing, calls) == ("chi_sim", False, [None])  # simplified: no second pass
    # a character t2s changes (the simplified model knows 於) sends the page to chi_tra
    calls.clear()
    readings[None] = [*_words("政务", 85.0), ocr.Word("關於", 0, 0, 10, 10, 80.0, 0, 10)]
    words, model, missing = ocr.script_pass(None)
    assert (model, missing, calls) == ("chi_tra", False, [None, "chi_tra"])
    assert words[0].text == "政務"
    # the traditional reading is taken only when surer, and sure on the whole
    readings["chi_tra"] = _words("政務", 84.0)
    assert ocr.script_pass(None)[1] == "chi_sim"
    readings[None] = [*_words("政务", 60.0), ocr.Word("關於", 0, 0, 10, 10, 60.0, 0, 10)]
    readings["chi_tra"] = _words("政務", 66.0)  # a poor scan garbled either way (seed 004, 150 dpi)
    assert ocr.script_pass(None)[1] == "chi_sim"
    # without the model: the simplified reading, and the page flagged
    monkeypatch.setattr(ocr, "installed_languages", lambda: frozenset({"chi_sim", "eng"}))
    words, model, missing = ocr.script_pass(None)
    assert (model, missing) == ("chi_sim", True) and words[0].text == "政务"


def test_what_says_traditional() -> None:
    assert not ocr.looks_traditional(_words("政务公开", 92.0))
    assert ocr.looks_traditional(_words("政务公开", 84.0))  # unsure on the whole
    assert ocr.looks_traditional([*_words("政务公开", 92.0), ocr.Word("於", 0, 0, 10, 10, 90.0, 0, 10)])
    assert ocr.looks_traditional(_words("12", 92.0, 5))  # almost no Chinese read
    assert not ocr.looks_traditional([])


def test_a_point_read_as_a_mark_after_the_run_is_not_kept_twice() -> None:
    from services.extract.engine.readers import ocr_glyphs

    digits = tuple(ocr_glyphs.Glyph(10 + 20 * i, 26 + 20 * i, 0, 30, "digit") for i in range(4))
    run = ocr_glyphs.Run((*digits, ocr_glyphs.Glyph(90, 96, 24, 30, "dot")), 0, 30)
    # "2192，": five characters over 10-100, the last (82-100) over the point
    assert ocr._point_read_as_mark(run, ocr.Word("2192，", 10, 0, 90, 30, 73.0, 0, 30), "，")
    # a comma beyond the point is a comma of its own
    assert not ocr._point_read_as_mark(run, ocr.Word("2192，", 10, 0, 120, 30, 73.0, 0, 30), "，")
    assert not ocr._point_read_as_mark(run, ocr.Word("2192同", 10, 0, 90, 30, 73.0, 0, 30), "同")
    no_point = ocr_glyphs.Run(digits, 0, 30)
    assert not ocr._point_read_as_mark(no_point, ocr.Word("2192，", 10, 0, 90, 30, 73.0, 0, 30), "，")


def test_a_second_reading_confirms_only_unsure_chinese_characters() -> None:
    def w(text: str, conf: float) -> ocr.Word:
        return ocr.Word(text, 0, 0, 10, 10, conf, 0, 10)

    first = [w("行政", 96), w("事业", 97), w("性", 93), w("收", 93), w("缆", 0)]
    assert ocr.confirms(first, [w("行政", 97), w("事业", 97), w("性", 97), w("收费", 97)])
    # a character the first reading was sure of differs: no confirmation
    assert not ocr.confirms(first, [w("行政", 97), w("事业", 97), w("姓", 97), w("收费", 97)])
    # unsure again, or a character more
    assert not ocr.confirms(first, [w("行政事业性收", 97), w("费", 40)])
    assert not ocr.confirms(first, [w("行政事业性收费用", 97)])
    # a figure is never changed, even in an unsure word; nor a bracket for a character
    assert not ocr.confirms([w("收费", 95), w("7730.28", 30)], [w("收费", 95), w("7730.29", 97)])
    assert not ocr.confirms([w("(七", 30), w("总计", 95)], [w("〈七", 90), w("总计", 95)])


def test_an_unsure_text_cell_is_read_again_smaller_and_taken_when_confirmed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sizes: list[tuple[int, int]] = []

    def recognise(images, psm, *, digits=False, languages=None):  # type: ignore[no-untyped-def]
        sizes.extend(im.shape for im in images)
        return [[ocr.Word("收费", 8, 8, 40, 24, 97.0, 8, 24)] for _ in images]

    monkeypatch.setattr(ocr, "recognise", recognise)
    crops = [np.full((50, 100), 255, dtype=np.uint8) for _ in range(3)]
    cell_words = [
        [ocr.Word("收缆", 10, 10, 50, 30, 0.0, 10, 30)],  # unsure: read again at 0.8
        [ocr.Word("收缆", 10, 10, 50, 30, 0.0, 10, 30)],  # a figure cell or a line start: not here
        [ocr.Word("收费", 10, 10, 50, 30, 95.0, 10, 30)],  # sure: not read again
    ]
    ocr._reread_unsure_text(crops, cell_words, {1}, "chi_sim")
    assert sizes == [(40, 80)]
    assert [(w.text, w.left, w.width) for w in cell_words[0]] == [("收费", 10.0, 50.0)]
    assert cell_words[1][0].text == "收缆"


def test_without_the_traditional_model_a_traditional_page_is_read_with_a_warning(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services.extract.engine.readers import pdf
    from tests.unit.extract.test_pdf_paragraphs import _blank_pdf

    def page_objects(page, page_number, doctop, find_cells):  # type: ignore[no-untyped-def]
        chars, _ = ocr.to_chars(
            [ocr.Word("政务公开。", 250, 400, 200, 40, 90.0, 400, 40)], page_number, doctop, 842.0, 300 / 72
        )
        return {"char": chars, "rect": [], "line": []}, ocr.Doubts(no_traditional=page_number == 2)

    monkeypatch.setattr(ocr, "available", lambda: True)
    monkeypatch.setattr(ocr, "page_objects", page_objects)
    raw = pdf.read(_blank_pdf(2))
    assert [b.text for b in raw.blocks] == ["政务公开。", "政务公开。"]
    assert any("page(s) 2 look like traditional script" in w and "chi_tra" in w for w in raw.warnings)
