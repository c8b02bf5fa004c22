"""The merge of two readers' truth keeps only what both wrote, and lets a
settlement decide (or drop) the rest."""

from __future__ import annotations

from tests.accuracy.merge_truth import disagreements_markdown, merge_entry

A = {
    "agency": "某县人民政府",
    "agency_aliases": ["某县"],
    "year": 2021,
    "template": "gb2021",
    "metrics": {"applications.new_received": 26, "applications.granted": 10, "proactive.items_total": 478},
    "breakdown": {"applications.new_received": {"natural_person": 25, "commercial": 1, "total": 26}},
    "checks": {"intake_balance": True},
    "absent": ["review.*"],
}


def test_values_both_readers_wrote_alike_are_kept() -> None:
    merged, disagreements = merge_entry("d.txt", A, dict(A))
    assert disagreements == []
    assert merged["metrics"] == A["metrics"] and merged["breakdown"] == A["breakdown"]
    assert merged["agency"] == "某县人民政府" and merged["agency_aliases"] == ["某县"]
    assert merged["checks"] == {"intake_balance": True} and merged["absent"] == ["review.*"]


def test_a_value_only_one_reader_wrote_or_read_differently_is_left_out() -> None:
    b = {
        **A,
        "metrics": {"applications.new_received": 26, "applications.granted": 11},
        "breakdown": {"applications.new_received": {"natural_person": 25, "commercial": 1, "total": 26}},
        "checks": {"intake_balance": False},
        "year": 2021,
        "absent": [],
    }
    merged, disagreements = merge_entry("d.txt", A, b)
    assert merged["metrics"] == {"applications.new_received": 26}
    assert "checks" not in merged and "absent" not in merged
    assert {d.path for d in disagreements} == {
        "metrics.applications.granted",
        "metrics.proactive.items_total",
        "checks.intake_balance",
        "absent.review.*",
    }
    granted = next(d for d in disagreements if d.path == "metrics.applications.granted")
    assert (granted.a, granted.b) == (10, 11)


def test_a_settlement_decides_a_disagreement_or_drops_a_value() -> None:
    b = {**A, "metrics": {**A["metrics"], "applications.granted": 11}}
    settled = {"metrics.applications.granted": 10, "metrics.proactive.items_total": None}
    merged, disagreements = merge_entry("d.txt", A, b, settled)
    assert merged["metrics"] == {"applications.new_received": 26, "applications.granted": 10}
    table = disagreements_markdown(disagreements, {"d.txt": settled})
    assert "| d.txt | `metrics.applications.granted` | 10 | 11 | 10 |" in table


def test_a_breakdown_column_is_compared_on_its_own() -> None:
    b = {
        **A,
        "breakdown": {"applications.new_received": {"natural_person": 24, "commercial": 1, "total": 26}},
    }
    merged, disagreements = merge_entry("d.txt", A, b)
    assert merged["breakdown"] == {"applications.new_received": {"commercial": 1, "total": 26}}
    assert [d.path for d in disagreements] == ["breakdown.applications.new_received.natural_person"]
