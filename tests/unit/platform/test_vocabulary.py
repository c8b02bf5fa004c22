"""The shared report vocabulary (ogi/vocabulary.py): one converter, one
notion of a report title."""

from __future__ import annotations

from ogi import vocabulary
from services.ingest import discovery


def test_traditional_titles_read_through_opencc_not_a_hand_table() -> None:
    # 評 and 訓 were missing from ingest's hand-made table, so these notices passed as reports
    assert not discovery.is_annual_report("2023年政府信息公開工作年度報告評議結果")
    assert not discovery.is_annual_report("政府信息公開工作年度報告培訓會")
    assert discovery.is_annual_report("臺北市政府資訊公開2023年度報告")
    assert vocabulary.report_year("某縣二〇二三年政府信息公開工作年度報告") == 2023


def test_text_without_convertible_characters_is_returned_as_is() -> None:
    assert vocabulary.to_simplified("12 34 5.6") == "12 34 5.6"
    assert vocabulary.to_simplified("政府信息公開") == "政府信息公开"


def test_dates_in_every_printed_form() -> None:
    from datetime import date

    for text in ("2024-01-05", "2024/1/5", "2024.1.5", "2024年1月5日", "2024 年 1 月 5 日", "2024年1月5"):
        assert vocabulary.parse_date(f"发布于{text}。") == date(2024, 1, 5), text
    assert vocabulary.parse_date("2024年1月15日") == date(2024, 1, 15)
    assert vocabulary.parse_date("2024年2月30日") is None


def test_published_date_is_the_date_right_after_a_label() -> None:
    from datetime import date

    assert vocabulary.published_date("标题：某报告 发布时间：2024-01-15 来源：某局") == date(2024, 1, 15)
    assert vocabulary.published_date("成文日期 2024年1月5 发布") == date(2024, 1, 5)
    assert vocabulary.published_date("日期：【2024-01-15】") == date(2024, 1, 15)
    # a date further on in the sentence is the period reported on, not the publication
    assert vocabulary.published_date("本报告统计时间为2023年1月1日至2023年12月31日。") is None
    assert vocabulary.published_date("统计时间为2023年1月1日。发布日期：2024年3月1日") == date(2024, 3, 1)
