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


def _texts_in_every_script() -> list[str]:
    """Real report texts (the province corpus, and the shared corpus when it
    is there) as printed and turned into traditional, Hong Kong and Taiwan
    script by OpenCC."""
    from pathlib import Path

    import opencc

    repo = Path(__file__).resolve().parents[3]
    files = sorted((repo / "tests" / "accuracy" / "corpus").glob("*.txt"))
    files += sorted((repo.parent / "shared" / "corpus").glob("*/*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    assert len(texts) >= 10
    out = list(texts)
    for config in ("s2t", "s2hk", "s2tw", "s2twp"):
        converter = opencc.OpenCC(config)
        out += [converter.convert(t) for t in texts]
    return out


def test_fast_t2s_gives_opencc_result_on_real_reports() -> None:
    reference = vocabulary._t2s()
    for text in _texts_in_every_script():
        assert vocabulary.to_simplified(text) == reference.convert(text)


def test_fast_t2s_gives_opencc_result_around_phrases() -> None:
    """Pieces holding a phrase, several overlapping phrases, phrases cut by
    separators, characters with several targets: every mix gives OpenCC's
    result."""
    import random

    reference = vocabulary._t2s()
    phrases = list(vocabulary._t2s_phrases())
    characters = [chr(c) for c in vocabulary._t2s_characters()]
    filler = list("政府資訊公開報告的年度與處理乾儘剋著，。、 -；：（）12")
    rng = random.Random(20261203)
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 8)):
            kind = rng.random()
            if kind < 0.35:
                phrase = rng.choice(phrases)
                cut = rng.randint(0, len(phrase))  # sometimes only part of a phrase
                parts.append(phrase if rng.random() < 0.7 else phrase[:cut])
            elif kind < 0.6:
                parts.append(rng.choice(characters))
            else:
                parts.append("".join(rng.choices(filler, k=rng.randint(1, 5))))
        text = "".join(parts)
        assert vocabulary.to_simplified(text) == reference.convert(text), text
