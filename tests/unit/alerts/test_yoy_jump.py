from __future__ import annotations

from services.alerts.rules import Context
from services.alerts.rules.yoy_jump import YoyJump

from .conftest import NOW, make_history, make_record


def run(*records, **params):  # type: ignore[no-untyped-def]
    h = make_history(*records)
    return YoyJump(params or None).evaluate(Context(history=h, year=max(r.year for r in records), now=NOW))


def test_jump_up_and_down() -> None:
    [up] = run(
        make_record(2022, applications__new_received=40), make_record(2023, applications__new_received=300)
    )
    assert up.detail == "applications.new_received" and up.figures["ratio"] > 5
    [down] = run(
        make_record(2022, applications__new_received=300), make_record(2023, applications__new_received=20)
    )
    assert down.figures["ratio"] < 0.2 and "fell" in down.title


def test_within_thresholds_is_quiet() -> None:
    assert (
        run(
            make_record(2022, applications__new_received=40),
            make_record(2023, applications__new_received=150),
        )
        == []
    )


def test_small_base_is_quiet() -> None:
    assert (
        run(make_record(2022, applications__new_received=1), make_record(2023, applications__new_received=6))
        == []
    )


def test_zero_previous_year_is_finite() -> None:
    [f] = run(
        make_record(2022, applications__refused__total=0), make_record(2023, applications__refused__total=12)
    )
    assert f.figures["ratio"] == 13.0
    [g] = run(
        make_record(2022, applications__refused__total=12), make_record(2023, applications__refused__total=0)
    )
    assert g.figures["ratio"] == 1 / 13


def test_missing_year_gives_no_year_on_year_figure() -> None:
    assert (
        run(
            make_record(2021, applications__new_received=10),
            make_record(2023, applications__new_received=900),
        )
        == []
    )


def test_first_year_has_nothing_to_compare() -> None:
    assert run(make_record(2023, applications__new_received=900)) == []


def test_absent_metric_is_not_zero() -> None:
    assert run(make_record(2022), make_record(2023, applications__new_received=900)) == []


def test_litigation_composite_needs_both_parts() -> None:
    both = run(
        make_record(2022, litigation__direct__corrected=0, litigation__after_review__corrected=0),
        make_record(2023, litigation__direct__corrected=3, litigation__after_review__corrected=2),
    )
    assert [f.detail for f in both] == ["litigation.corrected"]
    assert (
        run(
            make_record(2022, litigation__direct__corrected=0),
            make_record(2023, litigation__direct__corrected=3, litigation__after_review__corrected=2),
        )
        == []
    )


def test_critical_ratio() -> None:
    [f] = run(
        make_record(2022, applications__new_received=10), make_record(2023, applications__new_received=400)
    )
    assert f.severity.value == "critical"


def test_parameters_override() -> None:
    assert run(
        make_record(2022, applications__new_received=40),
        make_record(2023, applications__new_received=150),
        ratio_high=3.0,
    )
