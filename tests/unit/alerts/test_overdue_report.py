from __future__ import annotations

from datetime import UTC, date, datetime

from services.alerts.agencies import DEPARTMENT, GOVERNMENT, agency_kind, deadline
from services.alerts.rules import Context
from services.alerts.rules.overdue_report import OverdueReport

from .conftest import make_history, make_record

DEPT = "某市某区市场监督管理局"
GOV = "某市某区人民政府"


def at(y: int, m: int, d: int, hour: int = 12) -> datetime:
    return datetime(y, m, d, hour, tzinfo=UTC)


def test_agency_kind_and_deadlines() -> None:
    assert agency_kind(GOV) == GOVERNMENT
    assert agency_kind("杭州经济技术开发区管委会") == GOVERNMENT
    assert agency_kind("某某街道办事处") == GOVERNMENT
    assert agency_kind(DEPT) == DEPARTMENT
    assert agency_kind("某市教育局") == DEPARTMENT
    assert agency_kind(GOV, "department") == DEPARTMENT
    assert agency_kind(None) == DEPARTMENT
    assert deadline(DEPARTMENT, 2023) == date(2024, 1, 31)
    assert deadline(GOVERNMENT, 2023) == date(2024, 3, 31)
    # the 2008 regulation gave every agency until 31 March; the 2019 one applies from the 2019 reports
    assert deadline(DEPARTMENT, 2018) == date(2019, 3, 31)
    assert deadline(DEPARTMENT, 2019) == date(2020, 1, 31)


def test_old_regulation_report_published_in_february_is_on_time() -> None:
    rec = make_record(2017, published_at=date(2018, 2, 11))
    h = make_history(rec, agency=DEPT)
    assert OverdueReport().evaluate(Context(history=h, year=2017, now=at(2025, 1, 1))) == []
    rec = make_record(2019, published_at=date(2020, 3, 12))
    h = make_history(rec, agency=DEPT)
    assert OverdueReport().evaluate(Context(history=h, year=2019, now=at(2025, 1, 1)))


def test_department_overdue_after_31_january_china_time() -> None:
    rule = OverdueReport()
    h = make_history(make_record(2023), agency=DEPT)
    # 31 Jan 2025 15:59 UTC is still 31 Jan in China: not yet overdue
    assert rule.scheduled(h, at(2025, 1, 31, 15)) == []
    [f] = rule.scheduled(h, at(2025, 1, 31, 16))
    assert f.year == 2024 and f.rule == "overdue_report" and "2025-01-31" in f.message


def test_government_has_until_31_march() -> None:
    rule = OverdueReport()
    h = make_history(make_record(2023), agency=GOV)
    assert rule.scheduled(h, at(2025, 3, 1)) == []
    assert [f.year for f in rule.scheduled(h, at(2025, 4, 2))] == [2024]


def test_first_year_of_an_agency_is_not_overdue_for_itself() -> None:
    # first report ever is 2024; nothing before it is expected
    h = make_history(make_record(2024), agency=DEPT)
    assert rule_years(h, at(2025, 1, 15)) == []
    assert rule_years(h, at(2026, 2, 15)) == [2025]


def rule_years(h, now):  # type: ignore[no-untyped-def]
    return [f.year for f in OverdueReport().scheduled(h, now)]


def test_missing_year_in_the_middle_is_overdue_within_lookback() -> None:
    h = make_history(make_record(2021), make_record(2023), make_record(2024), agency=DEPT)
    assert rule_years(h, at(2025, 6, 1)) == []  # 2022 is older than the 2-year lookback
    h2 = make_history(make_record(2022), make_record(2024), agency=DEPT)
    assert rule_years(h2, at(2025, 6, 1)) == [2023]


def test_finding_does_not_change_with_the_clock() -> None:
    h = make_history(make_record(2023), agency=DEPT)
    [a] = OverdueReport().scheduled(h, at(2025, 2, 5))
    [b] = OverdueReport().scheduled(h, at(2025, 9, 5))
    assert (a.title, a.message, a.figures) == (b.title, b.message, b.figures)


def test_late_arrival_by_published_date() -> None:
    rec = make_record(2024, published_at=date(2025, 3, 10))
    h = make_history(make_record(2023), rec, agency=DEPT)
    [f] = OverdueReport().evaluate(Context(history=h, year=2024, now=at(2025, 3, 11)))
    assert f.figures["days_late"] == 38 and f.severity.value == "info"
    on_time = make_history(make_record(2024, published_at=date(2025, 1, 20)), agency=DEPT)
    assert OverdueReport().evaluate(Context(history=on_time, year=2024, now=at(2025, 3, 11))) == []


def test_late_arrival_without_a_date_needs_a_watched_agency() -> None:
    late_seen = make_record(2024, received_at=at(2025, 2, 20))
    watched = make_history(make_record(2023), late_seen, agency=DEPT, first_seen=at(2024, 1, 10))
    assert OverdueReport().evaluate(Context(history=watched, year=2024, now=at(2025, 2, 20)))
    backfill = make_history(make_record(2023), late_seen, agency=DEPT, first_seen=at(2025, 2, 20))
    assert OverdueReport().evaluate(Context(history=backfill, year=2024, now=at(2025, 2, 20))) == []


def test_empty_history() -> None:
    assert rule_years(make_history(), at(2025, 6, 1)) == []


def test_late_arrival_after_an_overdue_alert_updates_it() -> None:
    late_seen = make_record(2024, received_at=at(2025, 5, 20))
    backfilled = make_history(make_record(2023), late_seen, agency=DEPT, first_seen=at(2025, 5, 1))
    ctx = Context(
        history=backfilled,
        year=2024,
        now=at(2025, 5, 20),
        alerted=lambda rule, year, detail: (rule, year) == ("overdue_report", 2024),
    )
    [f] = OverdueReport().evaluate(ctx)
    assert f.figures["days_late"] == (date(2025, 5, 20) - date(2025, 1, 31)).days
