"""services/extract/events.py: an extracted report becomes one metric event
per metric x applicant column, with ids stable across documents of the
same agency-year."""

from __future__ import annotations

from schemas import ExtractedReport, Provenance, Template
from services.extract.events import describe, to_metric_events


def _report(report_id: str = "r1", **kw: object) -> ExtractedReport:
    base: dict[str, object] = {
        "report_id": report_id,
        "agency": "某市市场监督管理局",
        "year": 2023,
        "template": Template.GB2021,
        "metrics": {"applications.granted": 7.0, "rates.refusal": 0.25},
        "breakdown": {"applications.granted": {"natural_person": 6.0, "commercial": 1.0, "total": 7.0}},
        "checks": {"outcome_sum": False, "intake_balance": True},
        "provenance": {
            "applications.granted": Provenance(kind="table", table=1, row="（一）予以公开", column="总计")
        },
    }
    base.update(kw)
    return ExtractedReport(**base)  # type: ignore[arg-type]


def test_one_event_per_metric_and_non_total_column() -> None:
    events = to_metric_events(_report())
    got = sorted((e.metric, e.applicant, e.value) for e in events)
    assert got == [
        ("applications.granted", "commercial", 1.0),
        ("applications.granted", "natural_person", 6.0),
        ("applications.granted", "total", 7.0),
        ("rates.refusal", "total", 0.25),
    ]
    assert {e.failed_checks == ["outcome_sum"] for e in events} == {True}
    assert [e.derived for e in events if e.metric == "rates.refusal"] == [True]
    assert all(e.section == e.metric.split(".")[0] for e in events)


def test_same_agency_year_from_two_documents_share_ids() -> None:
    html = {(e.metric, e.applicant): e.event_id for e in to_metric_events(_report("html-doc"))}
    pdf = {(e.metric, e.applicant): e.event_id for e in to_metric_events(_report("pdf-doc"))}
    assert html == pdf
    other_year = {(e.metric, e.applicant): e.event_id for e in to_metric_events(_report("x", year=2022))}
    assert not set(html.values()) & set(other_year.values())


def test_unknown_year_never_merges() -> None:
    a = to_metric_events(_report("a", year=None))
    b = to_metric_events(_report("b", year=None))
    assert not {e.event_id for e in a} & {e.event_id for e in b}


def test_provenance_is_described() -> None:
    text = describe(Provenance(kind="table", page=2, table=0, row="（一）予以公开", column="总计"))
    assert text is not None and "page 2" in text and "table 1" in text and "予以公开" in text
    assert (
        describe(Provenance(kind="text", span=(10, 20), text="共受理申请351件"))
        == "chars 10-20, «共受理申请351件»"
    )
    assert describe(None) is None
