"""Findings that resolve, and late peers, through the in-memory engine."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import ExtractedReport
from schemas.events import AlertStatus
from services.alerts.detector import Detector, Engine, MemoryStore, replay
from services.alerts.rules import build_rules

from .conftest import NOW, make_report


def detector() -> Detector:
    return Detector(build_rules({}))


def reupload(report: ExtractedReport, **changes: object) -> ExtractedReport:
    return ExtractedReport(**{**report.model_dump(), "report_id": f"{report.report_id}-fixed", **changes})


def test_corrected_reupload_that_balances_resolves_broken_identity() -> None:
    broken = make_report(2023, 4, 100, checks={"intake_balance": False})
    alerts = [
        a
        for a in replay(detector(), [broken, reupload(broken, checks={"intake_balance": True})], NOW)
        if a.rule == "broken_identity"
    ]
    assert [(a.revision, a.status) for a in alerts] == [(1, AlertStatus.OPEN), (2, AlertStatus.RESOLVED)]
    assert alerts[0].alert_id == alerts[1].alert_id
    assert alerts[1].resolved_at == NOW and alerts[1].message.startswith("Resolved: ")
    assert alerts[1].title == alerts[0].title and alerts[1].figures == alerts[0].figures


def test_resolved_finding_that_comes_back_reopens_and_replays_are_quiet() -> None:
    broken = make_report(2023, 4, 100, checks={"intake_balance": False})
    fixed = reupload(broken, checks={"intake_balance": True})
    alerts = [
        a
        for a in replay(detector(), [broken, fixed, fixed, broken, broken], NOW)
        if a.rule == "broken_identity"
    ]
    assert [(a.revision, a.status.value) for a in alerts] == [(1, "open"), (2, "resolved"), (3, "open")]


def test_re_test_that_no_longer_fires_resolves_a_spike() -> None:
    # 2022 looks like a spike against 2021; then 2020 and 2019 arrive late, with as many refusals:
    # the pooled baseline rises and the 2022 re-test no longer fires
    reports = [
        make_report(2021, 2, 100),
        make_report(2022, 50, 100),
        make_report(2020, 45, 100),
        make_report(2019, 48, 100),
    ]
    spikes = [a for a in replay(detector(), reports, NOW) if a.rule == "refusal_spike" and a.year == 2022]
    # 2020 changes the baseline (an updated revision), 2019 lifts it above the threshold (resolved)
    assert [a.status.value for a in spikes] == ["open", "open", "resolved"]


def test_overdue_resolved_when_the_report_arrives_in_time_order() -> None:
    d = detector()
    engine = Engine(d, MemoryStore(), MemoryStore())
    first = datetime(2024, 6, 1, tzinfo=UTC)
    for o in engine.on_report(make_report(2023, 1, 50), first):
        engine.commit(o)
    later = datetime(2025, 4, 1, tzinfo=UTC)
    [overdue] = engine.on_schedule(later)
    engine.commit(overdue)
    assert overdue.alert.year == 2024 and overdue.alert.status == AlertStatus.OPEN
    assert engine.on_schedule(later) == []  # unchanged: not re-sent
    # the 2024 report arrives, published before the deadline (we were blind): resolved by re-evaluation
    on_time = make_report(2024, 1, 50).model_copy(update={"published_at": datetime(2025, 1, 20).date()})
    outs = [o for o in engine.on_report(on_time, later) if o.alert.rule == "overdue_report"]
    assert [(o.alert.revision, o.alert.status.value) for o in outs] == [(2, "resolved")]
    for o in outs:
        engine.commit(o)
    assert engine.on_schedule(later) == []


def test_late_peers_raise_a_spike_that_had_no_peers_to_compare() -> None:
    # require_peers: a spike needs peers; agency 一's 2023 arrives first (no peers: quiet), then two
    # peers with low 2023 refusal rates arrive: the group changed, 一 is re-tested and fires
    rules = build_rules({"refusal_spike": {"require_peers": True}})
    reports = [make_report(2022, 2, 100, agency=f"甲区{n}局", region="某市甲区") for n in "一二三"]
    reports.append(make_report(2023, 40, 100, agency="甲区一局", region="某市甲区"))
    reports += [make_report(2023, 3, 100, agency=f"甲区{n}局", region="某市甲区") for n in "二三"]
    spikes = [a for a in replay(Detector(rules), reports, NOW) if a.rule == "refusal_spike"]
    assert [(a.agency, a.year, a.status.value) for a in spikes] == [("甲区一局", 2023, "open")]


def test_late_peers_only_re_test_the_group_that_changed() -> None:
    engine = Engine(detector(), MemoryStore(), MemoryStore())
    calls: list[str] = []
    original = engine.detector.evaluate

    def spy(history, year, now, peers=None, alerted=None, rules=None):  # type: ignore[no-untyped-def]
        if rules is not None:
            calls.append(history.agency_key)
        return original(history, year, now, peers, alerted, rules)

    engine.detector.evaluate = spy  # type: ignore[method-assign]
    for region, names in (("某市甲区", "一二"), ("某市乙区", "三四")):
        for n in names:
            engine.on_report(make_report(2023, 3, 100, agency=f"{region}{n}局", region=region), NOW)
    calls.clear()
    engine.on_report(make_report(2023, 3, 100, agency="某市甲区五局", region="某市甲区"), NOW)
    assert sorted(calls) == ["某市甲区一局", "某市甲区二局"]
    calls.clear()
    engine.on_report(make_report(2023, 3, 100, agency="某市甲区五局", region="某市甲区"), NOW)
    assert calls == [], "an unchanged record does not re-test the group"
