"""Standard-table parsing on text (flattened and run-together) forms."""

import reportgen
from conftest import text_doc

from services.extract.engine import tables

HEAD = (
    "三、收到和处理政府信息公开申请情况（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    "申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"
)


def apps(text: str) -> tables.TableResult:
    res = tables.TableResult()
    tables.parse_applications(text_doc(text), res)
    return res


def run_together(rows: dict[str, list[int]]) -> str:
    out = HEAD
    for g, s, r, key, vals in reportgen.APPS:
        label = r or s or g
        out += label + "".join(str(v) for v in rows.get(key, vals))
    return out + "四、政府信息公开行政复议、行政诉讼情况"


def test_run_together_rows_split_by_applicant_identity() -> None:
    res = apps(run_together({}))
    for *_, key, vals in reportgen.APPS:
        assert res.metrics[key] == vals[-1], key
    assert res.breakdown["applications.new_received"] == dict(
        zip(reportgen.APPLICANT_COLS, map(float, [40, 3, 0, 1, 0, 2, 46]), strict=False)
    )


def test_numbering_of_next_label_is_not_read_as_a_figure() -> None:
    # "...00000002.重复申请": the 2 belongs to the label
    res = apps(run_together({}))
    assert res.metrics["applications.not_processed.petition_complaint"] == 3
    assert res.metrics["applications.not_processed.duplicate"] == 1


def test_parent_totals_are_sums_of_reasons() -> None:
    res = apps(run_together({}))
    assert res.metrics["applications.refused.total"] == 8
    assert res.metrics["applications.unable.total"] == 12
    assert res.metrics["applications.other.total"] == 4
    assert res.provenance["applications.refused.total"].text.startswith("sum of")


def test_row_breaking_its_own_identity_is_left_out_not_guessed() -> None:
    # six columns 1+0+0+0+0+0 do not sum to 2: no split exists, so no figure
    rows = {"applications.refused.state_secret": [1, 0, 0, 0, 0, 0, 2]}
    res = apps(run_together(rows))
    assert "applications.refused.state_secret" not in res.metrics
    assert "applications.refused.total" not in res.metrics  # a reason is missing
    assert any("state_secret" in w for w in res.warnings)


def test_separated_cells_that_break_identities_are_kept_as_printed() -> None:
    text = HEAD
    for g, s, r, key, _vals in reportgen.APPS:
        v = [3, 0, 0, 0, 0, 2, 5] if key == "applications.unable.not_held" else [0] * 7
        text += "\n" + (r or s or g) + "\n" + "\n".join(map(str, v))
    res = apps(text)
    assert res.metrics["applications.unable.not_held"] == 5
    assert res.metrics["applications.total_handled"] == 0


def test_review_row_from_run_together_text() -> None:
    res = tables.TableResult()
    doc = text_doc(
        "四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计未经复议直接起诉"
        "复议后起诉结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计10203120001200000五、存在的主要问题"
    )
    tables.parse_review(doc, res)
    assert [res.metrics[f"review.{c}"] for c in ("upheld", "corrected", "other", "pending", "total")] == [
        1,
        0,
        2,
        0,
        3,
    ]
    assert res.metrics["litigation.direct.total"] == 12
    assert res.metrics["litigation.after_review.total"] == 0


def test_gb2019_proactive_signed_change_cells() -> None:
    doc = text_doc(
        "二、主动公开政府信息情况第二十条第（一）项信息内容本年新制作数量本年新公开数量对外公开总数量规章000"
        "规范性文件222第二十条第（五）项信息内容上一年项目数量本年增/减处理决定数量行政许可20+1737"
        "第二十条第（六）项信息内容上一年项目数量本年增/减处理决定数量行政处罚67+36103行政强制000"
        "三、收到和处理政府信息公开申请情况"
    )
    res = tables.TableResult()
    assert tables.parse_proactive(doc, res) == "gb2019"
    assert res.metrics["proactive.regulations.issued"] == 0
    assert res.metrics["proactive.normative_documents.published_total"] == 2
    assert res.metrics["proactive.licensing.items_prev_year"] == 20
    assert res.metrics["proactive.licensing.decisions"] == 37
    assert res.metrics["proactive.penalties.decisions"] == 103


def test_ambiguous_proactive_row_keeps_only_agreed_columns() -> None:
    doc = text_doc(
        "第二十条第（一）项信息内容本年制发件数本年废止件数现行有效件数规章000行政规范性文件6233440第二十条第（五）项"
    )
    res = tables.TableResult()
    assert tables.parse_proactive(doc, res) == "gb2021"
    assert res.metrics["proactive.regulations.in_force"] == 0
    assert "proactive.normative_documents.in_force" not in res.metrics


def test_legacy_statistics_table() -> None:
    doc = text_doc(
        "政府信息公开情况统计表 指标名称计量单位2012年度历年累计主动公开信息数条20263542其中：1.网站公开条17953304"
        "受理依申请公开信息总数条728对申请的答复数条324其中：1.同意公开答复数条2192.同意部分公开答复数条13"
        "3.否决公开答复数条02行政复议数条00行政诉讼数条11"
    )
    decided, undecided, _prov, _ = tables.parse_legacy(doc)
    assert decided["applications.new_received"] == 7  # 72|8 would make the cumulative smaller than the year
    assert decided["applications.total_handled"] == 3
    assert decided["applications.granted"] == 2
    assert decided["applications.partially_granted"] == 1
    assert decided["applications.refused.total"] == 0
    assert decided["litigation.total"] == 1
    assert "proactive.items_total" in undecided  # 2026|3542 or 20|263542 ...


def test_legacy_statistics_table_header_wrapped_within_a_word() -> None:
    # a scan's (or a narrow PDF column's) line ends inside 历年累计: the table
    # still has two columns, so 同意部分公开 "13" is 1 this year, 3 in all, not 13
    doc = text_doc(
        "政府信息公开情况统计表 指标名称计量单位2013年度历年累\n计主动公开信息数条18535395"
        "受理依申请公开信息总数条728对申请的答复数条324其中：1.同意公开答复数条2192.同意部分公开答复数条133."
        "否决公开答复数条02行政复议数条00"
    )
    decided, _undecided, _prov, _ = tables.parse_legacy(doc)
    assert decided["applications.partially_granted"] == 1
    assert decided["applications.granted"] == 2


def test_review_and_litigation_in_separate_tables() -> None:
    heads = "\n".join(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"])
    doc = text_doc(
        "四、政府信息公开行政复议、行政诉讼情况\n行政复议\n"
        + heads
        + "\n2\n1\n0\n0\n3\n行政诉讼\n未经复议直接起诉\n"
        "复议后起诉\n" + heads + "\n" + heads + "\n1\n0\n0\n1\n2\n0\n0\n0\n0\n0\n五、存在的主要问题及改进情况"
    )
    res = tables.TableResult()
    tables.parse_review(doc, res)
    assert [res.metrics[f"review.{c}"] for c in ("upheld", "corrected", "other", "pending", "total")] == [
        2,
        1,
        0,
        0,
        3,
    ]
    assert res.metrics["litigation.direct.pending"] == 1 and res.metrics["litigation.direct.total"] == 2
    assert res.metrics["litigation.after_review.total"] == 0


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELL = st.one_of(st.just(0), st.just(0), st.integers(0, 9), st.integers(0, 150))


@st.composite
def consistent_tables(draw) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """A random application table whose identities hold, as an agency would print it."""
    rows: dict[str, list[int]] = {}
    fixed = {
        "applications.total_handled",
        "applications.carried_forward",
        "applications.new_received",
        "applications.carried_over",
    }
    for *_, key, _ in reportgen.APPS:
        if key not in fixed:
            six = [draw(_CELL) for _ in range(6)]
            rows[key] = six + [sum(six)]
    th = [sum(r[i] for r in rows.values()) for i in range(7)]
    cf = [draw(_CELL) for _ in range(6)]
    cf.append(sum(cf))
    rows["applications.total_handled"] = th
    rows["applications.carried_forward"] = cf
    rows["applications.carried_over"] = [0] * 7
    rows["applications.new_received"] = [th[i] + cf[i] for i in range(7)]
    return rows


@settings(max_examples=15, deadline=None, database=None)
@given(consistent_tables())
def test_run_together_tables_never_give_a_wrong_figure(rows: dict[str, list[int]]) -> None:
    res = apps(run_together(rows))
    for key, vals in rows.items():
        if key in res.metrics:
            assert res.metrics[key] == vals[-1], key
            assert res.breakdown[key] == dict(
                zip(reportgen.APPLICANT_COLS, map(float, vals), strict=False)
            ), key
    found = sum(1 for k in rows if k in res.metrics)
    assert found >= len(rows) - 3  # nearly every row is decidable through the identities
