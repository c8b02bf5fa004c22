from __future__ import annotations

from services.alerts.rules import Context
from services.alerts.rules.broken_identity import BrokenIdentity

from .conftest import NOW, make_history, make_record


def ctx(*records, year=2023):  # type: ignore[no-untyped-def]
    return Context(history=make_history(*records), year=year, now=NOW)


def test_failed_check_fires_with_the_related_figures() -> None:
    r = make_record(2023, failed=["outcome_sum"], applications__granted=5, applications__total_handled=9)
    [f] = BrokenIdentity().evaluate(ctx(r))
    assert f.figures["check.outcome_sum"] == 0.0 and f.figures["applications.granted"] == 5
    assert f.figures["failed_checks"] == 1 and f.severity.value == "warning"
    assert "outcome_sum" in f.title


def test_all_checks_pass_is_quiet() -> None:
    assert BrokenIdentity().evaluate(ctx(make_record(2023))) == []


def test_several_failures_are_one_critical_finding() -> None:
    r = make_record(2023, failed=["review_sum", "outcome_sum", "applicant_sums"])
    [f] = BrokenIdentity().evaluate(ctx(r))
    assert f.severity.value == "critical" and f.figures["failed_checks"] == 3


def test_intake_balance_is_always_critical() -> None:
    [f] = BrokenIdentity().evaluate(ctx(make_record(2023, failed=["intake_balance"])))
    assert f.severity.value == "critical"


def test_ignored_checks() -> None:
    rule = BrokenIdentity({"ignore_checks": ["applicant_sums"]})
    assert rule.evaluate(ctx(make_record(2023, failed=["applicant_sums"]))) == []


def test_first_year_and_missing_year() -> None:
    # a broken report in an agency's first year is still broken
    assert BrokenIdentity().evaluate(ctx(make_record(2023, failed=["review_sum"])))
    # asking about a year with no report: nothing
    assert BrokenIdentity().evaluate(ctx(make_record(2021, failed=["review_sum"]), year=2022)) == []
