"""Figures stated in a report's prose settle what its tables leave open
(issue 12 kinds 1 and 2): a run-together row whose split no identity decides
is narrowed by the counts the prose states, and a total an older report gives
only in a sentence is read from it. Never a plausibility guess: a column the
stated figures do not fix stays absent."""

from __future__ import annotations

import pytest
import reportgen
from conftest import text_doc

from services.extract.engine import extract, prose

NORMATIVE = "proactive.normative_documents"


def _generated(sentence: str) -> bytes:
    """The generated report with every table cell run together (its
    行政规范性文件 row reads "5240": 5|2|40, 5|24|0, 52|4|0, ...) and one sentence
    of prose added to its overview."""
    text = reportgen.run_together_text()
    anchor = "及时回应社会关切。"
    assert anchor in text
    return text.replace(anchor, anchor + sentence, 1).encode("utf-8")


def test_without_a_stated_figure_the_run_together_row_stays_absent() -> None:
    r = extract(_generated(""), filename="crawled.txt")
    assert not {f"{NORMATIVE}.{c}" for c in ("issued", "repealed", "in_force")} & set(r.metrics)


def test_stated_issued_and_in_force_settle_the_row() -> None:
    r = extract(_generated("本年度制发行政规范性文件5件，现行有效规范性文件40件。"), filename="crawled.txt")
    assert (
        r.metrics[f"{NORMATIVE}.issued"],
        r.metrics[f"{NORMATIVE}.repealed"],
        r.metrics[f"{NORMATIVE}.in_force"],
    ) == (5, 2, 40)
    assert "split fixed by the figure stated in the text" in (
        r.provenance[f"{NORMATIVE}.repealed"].text or ""
    )


def test_one_stated_figure_fixes_its_column_and_leaves_the_rest_absent() -> None:
    # issued 5 leaves "240" as 2|40 or 24|0: no constraint decides, so neither is read
    r = extract(_generated("本年度制发行政规范性文件5件。"), filename="crawled.txt")
    assert r.metrics[f"{NORMATIVE}.issued"] == 5
    assert f"{NORMATIVE}.repealed" not in r.metrics and f"{NORMATIVE}.in_force" not in r.metrics


def test_a_stated_figure_no_split_allows_reads_nothing() -> None:
    r = extract(_generated("现行有效规范性文件7件。"), filename="crawled.txt")
    assert not {f"{NORMATIVE}.{c}" for c in ("issued", "repealed", "in_force")} & set(r.metrics)


def test_dev13_issued_from_its_prose_and_in_force_only_when_stated(corpus) -> None:  # type: ignore[no-untyped-def]
    data = (corpus / "dev" / "dev-13.txt").read_text(encoding="utf-8")
    r = extract(data.encode("utf-8"), filename="dev-13.txt")
    assert r.metrics[f"{NORMATIVE}.issued"] == 62  # "本年度制发行政规范性文件62件"
    assert f"{NORMATIVE}.in_force" not in r.metrics  # 33|440 or 3|3440: the report does not say
    anchor = "动态更新发布本年度制发行政规范性文件62件，"
    stated = data.replace(anchor, anchor + "现行有效行政规范性文件440件，", 1)
    r = extract(stated.encode("utf-8"), filename="dev-13.txt")
    assert (r.metrics[f"{NORMATIVE}.repealed"], r.metrics[f"{NORMATIVE}.in_force"]) == (33, 440)


@pytest.mark.parametrize(
    ("sentence", "total"),
    [
        # from the province corpus (tests/accuracy/corpus)
        ("2010年，我镇通过门户网站公开各类信息46条。其中工作动态类36条；计划总结类7条；其他类3条", 46),
        ("深入实施《政府信息公开条例》,全年公开政府信息995845条,较上年增长7.5%", 995845),
        ("方便广大群众获取信息。2021年以来公开政府信息98条,公开信息主要包括机构职能", 98),
        ("2021年度我乡主动公开政务信息8条,其中:办事指南1条;机构设置和职能1条", 8),
        (
            "全县各级各部门通过县政府门户网站共主动公开机构信息、政策文件、权责清单、财政预决算等方面政府信息7579条,未发生泄密",
            7579,
        ),
    ],
)
def test_older_reports_state_their_proactive_total_in_a_sentence(sentence: str, total: int) -> None:
    values, provenance, _ = prose.parse(text_doc(sentence)).decided()
    assert values["proactive.items_total"] == total
    assert provenance["proactive.items_total"].kind == "text"


@pytest.mark.parametrize(
    "sentence",
    [
        "2017年度我局依申请公开政府信息24条。",  # on request, not proactive
        "本年度依申请公开各类信息24条。",
        "县直各单位公开各类信息2475条，占62.2%。",  # a share of the whole
    ],
)
def test_what_is_not_the_proactive_total_is_not_read(sentence: str) -> None:
    assert "proactive.items_total" not in prose.parse(text_doc(sentence)).decided()[0]
