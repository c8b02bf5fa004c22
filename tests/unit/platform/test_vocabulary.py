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
