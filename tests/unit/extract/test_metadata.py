from conftest import text_doc

from ogi.vocabulary import report_year
from services.extract.engine import metadata


def test_agency_and_year_from_title() -> None:
    doc = text_doc("杭州市拱墅区市场监督管理局2023年度政府信息\n公开工作年度报告\n正文，2024年1月发布。")
    t = metadata.title(doc)
    assert metadata.agency(doc, t) == "杭州市拱墅区市场监督管理局"
    assert metadata.year(doc, t) == 2023


def test_year_is_reporting_year_not_publication_year() -> None:
    doc = text_doc(
        "2017年度政府信息公开工作报告\n现将威海火炬高技术产业开发区市场监督管理局2017年度政府信息公开工作汇报如下。"
        "\n2018年3月1日 2018年3月1日 2018年"
    )
    t = metadata.title(doc)
    assert metadata.year(doc, t) == 2017
    assert metadata.agency(doc, t) == "威海火炬高技术产业开发区市场监督管理局"


def test_region_from_agency_name() -> None:
    assert metadata.region("浙江省杭州市拱墅区市场监督管理局") == "浙江省杭州市拱墅区"
    assert metadata.region("洪泽区人民政府") == "洪泽区"


def test_region_does_not_take_market_for_a_city() -> None:
    assert metadata.region("杭州市市场监督管理局") == "杭州市"
    assert metadata.region("平潭综合实验区市场监督管理局") == "平潭综合实验区"
    assert metadata.region("市工商局") is None


def test_year_first_title() -> None:
    doc = text_doc("2022年某某县发展和改革局政府信息公开工作年度报告\n正文。")
    t = metadata.title(doc)
    assert metadata.agency(doc, t) == "某某县发展和改革局" and metadata.year(doc, t) == 2022


def test_index_label_glued_to_the_title_is_not_the_agency() -> None:
    # a converter glued the information index's 名称 cell to its value
    doc = text_doc("名称 某某县发展和改革局2023年政府信息公开工作年度报告\n正文")
    assert metadata.agency(doc, metadata.title(doc)) == "某某县发展和改革局"


def test_title_year_and_agency_read_as_the_monitor_reads_them() -> None:
    # 二O二三 with a Latin O is a common way to type the year; the monitor's
    # ogi.vocabulary.report_year reads it, so the extractor must too (it used
    # to fall back to the most frequent year in the text: the publication year)
    title = "某县交通运输局二O二三年政府信息公开工作年度报告"
    doc = text_doc(f"{title}\n正文。2024年1月20日 2024年1月20日")
    t = metadata.title(doc)
    assert t == title
    assert metadata.year(doc, t) == report_year(title) == 2023
    assert metadata.agency(doc, t) == "某县交通运输局"


def _scanned(*lines: tuple[str, float]):  # type: ignore[no-untyped-def]
    """A document read back from a scan: one block per line, each with the
    confidence OCR gave it."""
    from services.extract.engine.document import Block, RawDocument, linearise

    return linearise(RawDocument([Block(t, page=1, confidence=c) for t, c in lines], format="pdf"))


def _ocr_agency(doc) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    return metadata.ocr_checked_agency(doc, metadata.agency(doc, metadata.title(doc)))


_BODY = "2023年，{}坚持以习近平新时代中国特色社会主义思想为指导。"


def test_an_ocr_misread_division_is_read_right_where_the_report_names_itself_again() -> None:
    # dev-12's scan: the title's 洪泽区 read 潜译区 (a division no table knows);
    # the body names 洪泽区人民政府 twice, a division the gazetteer knows
    doc = _scanned(
        ("潜译区人民政府", 64.7),
        ("2023年政府信息公开工作年度报告", 92.7),
        ("本报告由淮安市洪泽区人民政府办公室根据《条例》编制。", 60.8),
        (_BODY.format("洪泽区人民政府"), 91.6),
    )
    name, why = _ocr_agency(doc)
    assert name == "洪泽区人民政府"
    assert why is not None and "潜译区人民政府" in why


def test_an_ocr_misread_agency_nothing_confirms_is_left_out() -> None:
    doc = _scanned(("潜译区人民政府", 64.7), ("2023年政府信息公开工作年度报告", 92.7), ("一、总体情况", 90.0))
    name, why = _ocr_agency(doc)
    assert name is None and why is not None and "left out" in why


def test_the_same_text_layer_title_is_taken_as_printed() -> None:
    # the check is for OCR only: a text layer states the name itself
    doc = text_doc("潜译区人民政府2023年政府信息公开工作年度报告\n一、总体情况")
    assert _ocr_agency(doc) == ("潜译区人民政府", None)


def test_a_second_candidate_division_is_not_guessed_between() -> None:
    # two governments that differ from the misread one in its division: which
    # one the title names is unknown, so neither
    doc = _scanned(
        ("潜译区人民政府2023年政府信息公开工作年度报告", 64.7),
        (_BODY.format("洪泽区人民政府"), 91.6),
        (_BODY.format("洪泽区人民政府"), 91.6),
        (_BODY.format("淮阴区人民政府"), 91.6),
        (_BODY.format("淮阴区人民政府"), 91.6),
    )
    assert _ocr_agency(doc)[0] is None


def test_an_ocr_agency_confirmed_by_the_gazetteer_a_second_reading_or_sure_recognition() -> None:
    title = "2023年政府信息公开工作年度报告"
    # read once and unsurely, but 洪泽区人民政府 is how the tables spell it
    assert _ocr_agency(_scanned((f"洪泽区人民政府{title}", 64.7)))[0] == "洪泽区人民政府"
    # a department: the tables cannot spell it
    assert _ocr_agency(_scanned((f"洪泽区财政局{title}", 64.7)))[0] is None
    assert _ocr_agency(_scanned((f"洪泽区财政局{title}", 92.0)))[0] == "洪泽区财政局"
    assert _ocr_agency(_scanned((f"洪泽区财政局{title}", 64.7), ("洪泽区财政局", 70.0)))[0] == "洪泽区财政局"
    # a department whose division OCR misread is not put right by another
    # department of the real division (the misread part is not the division)
    doc = _scanned(
        (f"洪泽区财玫局{title}", 64.7), (_BODY.format("洪泽区民政局"), 91.6), ("洪泽区民政局", 91.0)
    )
    assert _ocr_agency(doc)[0] is None


def test_an_ocr_title_whose_year_lost_a_digit_still_names_its_agency() -> None:
    # dev-01's scan: "2011" read "201"; the agency used to come from the most
    # frequent organisation name instead, cut at 委 of 管委会
    doc = _scanned(
        ("标题:平潭综合实验区 201 年政府信息公开工作年度报告", 92.7),
        ("来源:平潭综合实验区管委会办公室", 70.1),
        ("平潭综合实验区管委会推进建设，平潭综合实验区管委会门户网站", 80.0),
    )
    assert _ocr_agency(doc) == ("平潭综合实验区", None)


def test_a_committee_is_not_cut_at_its_first_character() -> None:
    doc = text_doc("政府信息公开工作年度报告\n平潭综合实验区管委会推进建设。\n平潭综合实验区管委会门户网站。")
    assert metadata.agency(doc, metadata.title(doc)) == "平潭综合实验区管委会"


def test_the_pipeline_leaves_an_unconfirmed_ocr_agency_and_its_region_out_with_a_warning() -> None:
    from services.extract.engine import pipeline
    from services.extract.engine.document import Block, RawDocument

    raw = RawDocument(
        [Block("潜译区人民政府2023年政府信息公开工作年度报告", page=1, confidence=64.7)], format="pdf"
    )
    report = pipeline._parse(raw, "0" * 64, "scan.pdf")
    assert report.agency is None and report.region is None
    assert any("潜译区人民政府" in w and "left out" in w for w in report.warnings)


def test_an_empty_title_is_read_by_no_one() -> None:
    # "" occurs everywhere: looking for where it was read must not loop
    doc = _scanned(("一、总体情况", 90.0))
    assert metadata.agency(doc, "") is None


def test_a_misreading_repeated_in_one_font_does_not_outweigh_the_known_division() -> None:
    # the title repeated as every page's header is misread alike each time
    header = ("潜译区人民政府2023年政府信息公开工作年度报告", 64.7)
    body = (_BODY.format("洪泽区人民政府"), 91.6)
    assert _ocr_agency(_scanned(header, body, header, body))[0] == "洪泽区人民政府"
    # read twice and nothing contradicts it: kept
    assert _ocr_agency(_scanned(header, ("一、总体情况", 90.0), header))[0] == "潜译区人民政府"
