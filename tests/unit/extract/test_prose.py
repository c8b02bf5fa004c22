from conftest import text_doc

from services.extract.engine import prose


def values(s: str) -> dict[str, float]:
    return prose.parse(text_doc(s)).decided()[0]


def test_total_and_breakdown_sentence() -> None:
    v = values(
        "2017年共计答复各类政府信息公开申请351件，其中属于已主动公开范围41件，同意公开或部分公开答复50件，"
        "不同意公开答复26件，不属于本行政机关公开213件，申请信息不存在11件，告知作出补正2件，告知通过其他途径办理8件。"
    )
    assert v["applications.total_handled"] == 351
    assert v["applications.already_public"] == 41
    assert v["applications.granted_or_partial"] == 50
    assert "applications.granted" not in v  # "同意公开或部分公开" is one number, not two
    assert v["applications.refused.total"] == 26
    assert v["applications.unable.not_this_agency"] == 213
    assert v["applications.unable.not_held"] == 11
    assert v["applications.other.correction_requested"] == 2
    assert v["applications.other.other_channel"] == 8


def test_chinese_numerals() -> None:
    assert values("本年度共收到政府信息公开申请十二件。")["applications.new_received"] == 12


def test_traps_are_not_read() -> None:
    v = values("目前，区县已入驻审批服务部门和单位13个，开设窗口26个，共受理申请121510件。")
    assert "applications.new_received" not in v
    v = values("2017年度我局依申请公开政府信息24条，不予以公开信息324条。")
    assert "applications.refused.total" not in v
    v = values("县直各单位主动公开政府信息2475条，占62.2%。全县主动公开政府信息3978条。")
    assert v["proactive.items_total"] == 3978


def test_conflicting_statements_leave_the_key_out() -> None:
    res = prose.parse(text_doc("共收到政府信息公开申请21件。全年共收到政府信息公开申请23件。"))
    vals, _, warns = res.decided()
    assert "applications.new_received" not in vals
    assert any("new_received" in w for w in warns)


def test_review_outcomes_and_negations() -> None:
    v = values(
        "2017年涉及政府信息公开的行政复议3件，维持1件，被依法纠错1件，驳回申请1件；涉及政府信息公开的行政诉讼1件。"
    )
    assert (v["review.total"], v["review.upheld"], v["review.corrected"], v["review.other"]) == (3, 1, 1, 1)
    assert v["litigation.total"] == 1
    v = values("2017年，我局没有发生因政府信息公开申请行政复议、提起行政诉讼的情况。")
    assert v["review.total"] == 0 and v["litigation.total"] == 0
    v = values("2017年度我局有1起因政府信息公开申请行政复议，无提起行政诉讼的情况。")
    assert v["review.total"] == 1 and v["litigation.total"] == 0


def test_provenance_points_at_the_sentence() -> None:
    doc = text_doc("前言。\n本年度主动公开政府信息3184条。")
    res = prose.parse(doc)
    value, prov = res.values["proactive.items_total"][0]
    assert value == 3184
    assert prov.kind == "text" and prov.span is not None
    assert "3184" in doc.text[prov.span[0] : prov.span[1]]


def test_application_count_phrasings() -> None:
    assert values("2014年我局共受理依申请公开9件。")["applications.new_received"] == 9
    assert (
        values("全年共收到政府信息公开申请220件，网上申请200件，占90.09%。")["applications.new_received"]
        == 220
    )
    v = values(
        "截至2023年12月31日，共收到政府信息公开申请28件。7件予以公开，4件为部分公开，6件不予公开，6件申请人主动撤销申请。"
    )
    assert (
        v["applications.granted"],
        v["applications.partially_granted"],
        v["applications.refused.total"],
        v["applications.withdrawn"],
    ) == (7, 4, 6, 6)


def test_negation_does_not_reach_across_clauses() -> None:
    v = values("本年度未发生行政诉讼，行政复议1件。")
    assert v["review.total"] == 1 and v["litigation.total"] == 0
    assert (
        values("答复政府信息公开申请10件，非本机关职责范围3件。")["applications.unable.not_this_agency"] == 3
    )


def test_outcomes_need_an_application_context() -> None:
    assert "applications.granted" not in values("对涉及群众切身利益的信息主动予以公开2000条。")
    assert "applications.granted" not in values("本年度会议纪要同意公开12件。")
    v = values(
        "全年答复政府信息公开申请共220件。其中，予以公开49件，占22.27%；部分公开1件，占0.45%；其他答复情形4件。"
    )
    assert (
        v["applications.granted"],
        v["applications.partially_granted"],
        v["applications.other.total"],
    ) == (49, 1, 4)


def test_2019_categories_in_sentences() -> None:
    v = values(
        "本年新收政府信息公开申请30件，上年结转2件。共答复政府信息公开申请29件，其中予以公开10件，无法提供12件，"
        "不予处理7件，3件结转下年度继续办理。"
    )
    assert (
        v["applications.new_received"],
        v["applications.carried_over"],
        v["applications.total_handled"],
    ) == (30, 2, 29)
    assert (v["applications.unable.total"], v["applications.not_processed.total"]) == (12, 7)
    assert v["applications.carried_forward"] == 3


def test_review_revocation_is_not_a_withdrawal() -> None:
    v = values("共收到政府信息公开申请10件。行政复议2件，其中维持1件，撤销1件。申请人撤回申请2件。")
    assert v["applications.withdrawn"] == 2
    assert v["review.corrected"] == 1


def test_explicit_none_statements_state_zero() -> None:
    """Issue 12 (3): a sentence that says there were none states 0; silence,
    a heading, or a negation of something else states nothing."""
    v = values("本年度无不予公开政府信息情况。本年度没有政府信息公开收费及减免情况。")
    assert v["applications.refused.total"] == 0 and v["fees.collected_yuan"] == 0
    assert values("没有不予公开的申请。")["applications.refused.total"] == 0
    for silent in (
        "六、政府信息公开收费及减免情况",
        "（三）不予公开",
        "无不予公开",
        "本年度收取政府信息公开费用及减免情况如下",
    ):
        got = values(silent)
        assert "applications.refused.total" not in got and "fees.collected_yuan" not in got, silent
    assert values("答复政府信息公开申请10件，其中不予公开3件。")["applications.refused.total"] == 3


# --- cost on hostile text (issue 8 #7): linear in the text, whatever its shape ---


def _parse_seconds(body: str) -> float:
    import time

    start = time.perf_counter()
    prose.parse(text_doc("本机关收到政府信息公开申请" + body + "件。"))
    return time.perf_counter() - start


def test_a_long_digit_run_is_cheap_and_no_figure() -> None:
    # quadratic before: a 100 KB run held a worker for its whole 60 s timeout
    assert _parse_seconds("1" * 100_000) < 5
    assert "applications.new_received" not in values("本机关收到政府信息公开申请" + "1" * 40 + "件。")


def test_a_long_numeral_run_is_cheap() -> None:
    assert _parse_seconds("一" * 100_000) < 5


def test_many_matches_without_punctuation_are_cheap() -> None:
    # every match used to scan to both ends of the text for its clause
    assert _parse_seconds("1件予以公开" * 15_000) < 5


def test_numbers_next_to_long_runs_are_still_read() -> None:
    assert values("本年度共收到政府信息公开申请123456789012件。")["applications.new_received"] == 123456789012
    assert values("收取信息处理费共12.5元。")["fees.collected_yuan"] == 12.5
