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
