from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import Severity
from services.alerts.detector import record_of
from services.alerts.rules import Context, build_rules
from services.alerts.rules.incomplete_report import IncompleteReport

from .conftest import NOW, make_history, make_record, make_report


def ctx(*records, year=2023):  # type: ignore[no-untyped-def]
    return Context(history=make_history(*records), year=year, now=NOW)


def _incomplete(year: int, *sections: str):  # type: ignore[no-untyped-def]
    return make_record(year).model_copy(update={"incomplete_sections": list(sections)})


def test_lost_application_table_is_a_critical_finding() -> None:
    [f] = IncompleteReport().evaluate(ctx(_incomplete(2023, "applications", "fees")))
    assert f.rule == "incomplete_report" and f.severity == Severity.CRITICAL
    assert "applications" in f.title and "fees" in f.title and "not zero" in f.message
    assert f.figures == {"incomplete_sections": 2.0}
    assert f.report_url == "https://example.gov.cn/2023.html"


def test_other_sections_are_a_warning_and_can_be_ignored() -> None:
    [f] = IncompleteReport().evaluate(ctx(_incomplete(2023, "review_litigation")))
    assert f.severity == Severity.WARNING
    assert (
        IncompleteReport({"ignore_sections": ["review_litigation"]}).evaluate(
            ctx(_incomplete(2023, "review_litigation"))
        )
        == []
    )


def test_a_complete_report_is_quiet() -> None:
    assert IncompleteReport().evaluate(ctx(make_record(2023))) == []
    assert IncompleteReport().evaluate(ctx(_incomplete(2022, "applications"), year=2023)) == []


def test_the_detector_record_carries_the_sections_and_the_rule_is_enabled() -> None:
    report = make_report(2023, 1, 10).model_copy(update={"incomplete_sections": ["applications"]})
    assert record_of(report, datetime(2026, 1, 1, tzinfo=UTC)).incomplete_sections == ["applications"]
    assert "incomplete_report" in build_rules({})
