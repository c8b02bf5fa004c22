import reportgen

from schemas.events import Template
from services.extract.engine import extract


def test_gb2021_from_content() -> None:
    assert extract(reportgen.flattened_text().encode()).template == Template.GB2021


def test_gb2019_from_content_not_year() -> None:
    # a 2023 report that still uses the 2019 tables is gb2019
    text = reportgen.flattened_text().replace("2022年", "2023年")
    text = text.replace("本年制发件数", "本年新制作数量").replace("本年废止件数", "本年新公开数量")
    text = text.replace("现行有效件数", "对外公开总数量").replace(
        "本年收费金额（单位：万元）", "上一年项目数量"
    )
    for label in (
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "3.其他",
    ):
        text = text.replace(label + "\n", "")
    r = extract(text.encode())
    assert r.template == Template.GB2019
    assert r.year == 2023


def test_freetext_and_none() -> None:
    report = (
        "某市某局2015年政府信息公开工作年度报告\n本报告所列数据的统计期限自2015年1月1日起至2015年12月31日止。"
        "一、主动公开政府信息情况 全年主动公开政府信息120条。二、依申请公开情况 共收到政府信息公开申请5件。"
        "三、行政复议 未发生行政复议。四、存在的主要问题"
    )
    assert extract(report.encode()).template == Template.FREETEXT
    letter = (
        "关于2014年政府信息公开工作要点落实情况的函\n省政府办公厅：根据《关于做好政府信息公开工作年度报告有关事项的通知》"
        "要求，现将落实情况函告如下：共受理申请121510件。"
    )
    r = extract(letter.encode())
    assert r.template == Template.NONE and r.metrics == {}


def test_other_annual_reports_are_not_read() -> None:
    text = (
        "某市司法局2022年法治政府建设年度报告\n一、主要工作 本报告所列数据统计期限自2022年1月1日。全年办理行政复议案件35件，"
        "其中维持20件，纠正5件。主动公开政府信息120条。存在的主要问题。依申请公开工作规范。"
    )
    r = extract(text.encode())
    assert r.template == Template.NONE and r.metrics == {}
