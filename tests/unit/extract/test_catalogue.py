"""The engine's keys are the catalogue's keys (shared/metrics.md is the contract,
schemas/catalogue.py its code; the engine's label patterns are keyed by it)."""

from __future__ import annotations

import re

import pytest

from schemas import catalogue
from services.extract.engine import catalogue as labels
from services.extract.engine import checks, prose, tables


@pytest.fixture(scope="module")
def metrics_md(corpus) -> str:  # type: ignore[no-untyped-def]
    return (corpus.parent / "metrics.md").read_text(encoding="utf-8")


def emitted_keys() -> set[str]:
    keys = {r.key for r in labels.APPLICATION_ROWS}
    keys |= {f"{b}.{c}" for b in catalogue.REVIEW_BLOCKS for c in catalogue.REVIEW_COLUMNS}
    for r in labels.PROACTIVE_ROWS:
        keys |= {f"{r.prefix}.{c}" for c in r.cols2021 + r.cols2019}
    keys |= {r.key for r in prose.RULES} | {k for k, _ in tables.LEGACY_ROWS}
    return keys


def test_application_keys_are_listed_verbatim(metrics_md: str) -> None:
    listed = set(re.findall(r"applications\.[a-z_.]+[a-z]", metrics_md))
    for key in emitted_keys():
        if key.startswith("applications.") and not key.startswith(
            ("applications.channel.", "applications.applicant.")
        ):
            assert key in listed, key


def test_every_key_segment_is_in_the_catalogue(metrics_md: str) -> None:
    words = set(re.findall(r"[a-z_]+", metrics_md))
    for key in emitted_keys():
        assert all(seg in words for seg in key.split(".")), key


def test_labels_are_ordered_like_the_standard_table() -> None:
    keys = [r.key for r in labels.APPLICATION_ROWS]
    assert tuple(keys) == catalogue.APPLICATION_KEYS
    assert set(labels.APPLICATION_LABEL_PATTERNS) == set(keys), (
        "a label pattern for a key the catalogue lacks"
    )
    assert keys[0] == "applications.new_received" and keys[-1] == "applications.carried_forward"
    assert keys.index("applications.refused.total") < keys.index("applications.refused.state_secret")
    for parent, children in catalogue.PARENTS.items():
        assert all(keys.index(parent) < keys.index(c) for c in children)


def _plain(label: str) -> str:
    """A row label without its numbering, quotes or trailing note."""
    label = label.split(" — ")[0]
    label = re.sub(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|\d+\.)", "", label)
    return re.sub(r"[\"“”]", "", label).strip()


def test_every_key_the_engine_emits_has_the_catalogues_meaning(metrics_md: str) -> None:
    rates = set(re.findall(r"rates\.[a-z_]+[a-z]", metrics_md))
    assert rates, "the catalogue lists the derived rates"
    missing = sorted(k for k in emitted_keys() | rates if not catalogue.meaning(k))
    assert missing == []


def test_application_meanings_are_the_catalogues_row_labels(metrics_md: str) -> None:
    table = metrics_md.split("| key | row label |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| (applications\.[a-z_.]+) \| (.+?) \|$", table, flags=re.MULTILINE)
    assert len(rows) == len(catalogue.APPLICATION_KEYS)
    for key, label in rows:
        assert _plain(label) in _plain(catalogue.meaning(key) or "").replace("“", "").replace("”", ""), key


def test_composed_meanings_name_block_and_column() -> None:
    assert catalogue.meaning("review.corrected") == "行政复议 — 结果纠正"
    assert catalogue.meaning(
        "proactive.fees.amount_wan_yuan",
    ).startswith("主动公开 行政事业性收费 — 金额, in 万元")
    assert catalogue.meaning("applications.no_such_key") is None
    assert catalogue.meaning("review.no_such_column") is None


def test_keys_sort_as_the_standard_tables_list_them() -> None:
    keys = [
        "rates.refusal",
        "zzz.unknown",
        "proactive.items_total",
        "applications.carried_forward",
        "review.total",
        "applications.new_received",
        "fees.collected_yuan",
        "litigation.direct.total",
    ]
    assert sorted(keys, key=catalogue.key_order) == [
        "applications.new_received",
        "applications.carried_forward",
        "review.total",
        "litigation.direct.total",
        "proactive.items_total",
        "fees.collected_yuan",
        "rates.refusal",
        "zzz.unknown",
    ]


def test_every_check_the_extractor_computes_is_explained_with_its_figures() -> None:
    figures = {k: 1.0 for keys in catalogue.CHECK_FIGURES.values() for k in keys}
    computed = set(checks.compute(figures, {}, table=True)) | set(checks.compute(figures, {}, table=False))
    assert computed <= set(catalogue.CHECK_FIGURES), computed - set(catalogue.CHECK_FIGURES)
    assert set(catalogue.CHECK_FIGURES) == set(catalogue.CHECK_IDENTITIES)


@pytest.mark.parametrize(
    ("key", "read"),
    [
        # chi_sim reads "（" as "〈" or "〔", and "逾" as another character
        ("applications.partially_granted", "（二）部分公开〈区分处理的，只计这一情形，不计其他情形）"),
        ("applications.unable.total", "(〔四)无法提供"),
        (
            "applications.other.no_correction",
            "1.申请人无正当理由这期不补正、行政机关不再处理其政府信息公开申请",
        ),
        (
            "applications.other.fee_unpaid",
            "2.申请人庆期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        ),
        ("applications.refused.third_party_rights", "4.保护第三合法权益"),
    ],
)
def test_a_label_as_ocr_reads_it_is_still_its_row(key: str, read: str) -> None:
    assert re.fullmatch(labels.APPLICATION_LABEL_PATTERNS[key], read)
