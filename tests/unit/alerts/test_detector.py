from __future__ import annotations

from datetime import UTC, timedelta

from schemas import ExtractedReport
from services.alerts.detector import (
    Detector,
    PeerIndex,
    alert_id,
    fingerprint,
    reconcile,
    replay,
    update_history,
)
from services.alerts.rules import build_rules

from .conftest import NOW, make_report


def detector() -> Detector:
    return Detector(build_rules({}))


def test_spike_and_broken_identity_each_one_alert_on_replay() -> None:
    reports = [
        make_report(2020, 3, 100),
        make_report(2021, 4, 110),
        make_report(2022, 45, 100),
        make_report(2023, 4, 100, checks={"intake_balance": False, "outcome_sum": True}),
    ]
    alerts = replay(detector(), reports, NOW)
    by_rule = {}
    for a in alerts:
        by_rule.setdefault(a.rule, []).append(a)
    assert [(a.year, a.revision) for a in by_rule["refusal_spike"]] == [(2022, 1)]
    assert [(a.year, a.revision) for a in by_rule["broken_identity"]] == [(2023, 1)]
    spike = by_rule["refusal_spike"][0]
    assert spike.agency == "某市某区市场监督管理局" and spike.report_url.endswith("/2022.html")


def test_same_report_twice_is_not_repeated() -> None:
    reports = [make_report(2021, 2, 100), make_report(2022, 50, 100)]
    once = replay(detector(), reports, NOW)
    twice = replay(detector(), reports + reports, NOW)
    assert [a.alert_id for a in once] == [a.alert_id for a in twice]


def test_changed_finding_bumps_revision_and_keeps_first_seen() -> None:
    reports = [
        make_report(2021, 2, 100),
        make_report(2022, 50, 100),
        # a corrected re-upload of 2022 with other figures: same finding, updated
        ExtractedReport(**{**make_report(2022, 70, 100).model_dump(), "report_id": "reupload"}),
    ]
    spikes = [a for a in replay(detector(), reports, NOW) if a.rule == "refusal_spike"]
    assert [a.revision for a in spikes] == [1, 2]
    assert spikes[0].alert_id == spikes[1].alert_id
    assert spikes[1].figures["refused"] == 70 and spikes[1].report_id == "reupload"


def test_out_of_order_year_re_evaluates_later_years() -> None:
    # 2022 arrives first (its own first year: nothing), then 2021: now 2022 is a spike
    alerts = replay(detector(), [make_report(2022, 50, 100), make_report(2021, 2, 100)], NOW)
    assert [(a.rule, a.year) for a in alerts if a.rule == "refusal_spike"] == [("refusal_spike", 2022)]


def test_reconcile_identity() -> None:
    d = detector()
    h, findings = d.observe(None, make_report(2023, 1, 10, checks={"review_sum": False}), NOW)
    assert h is not None
    [f] = findings
    alert, state = reconcile(f, h, None, NOW)  # type: ignore[misc]
    assert alert.alert_id == alert_id(f, h) == state.alert_id and alert.revision == 1
    assert reconcile(f, h, state, NOW + timedelta(days=1)) is None
    f.severity = f.severity.__class__("critical")
    alert2, state2 = reconcile(f, h, state, NOW + timedelta(days=1))  # type: ignore[misc]
    assert alert2.revision == 2 and alert2.first_seen == NOW and alert2.updated_at > NOW
    assert fingerprint(f) == state2.fingerprint


def test_not_a_report_or_no_year_is_ignored() -> None:
    d = detector()
    none = ExtractedReport(report_id="x", agency="a", year=2023, template="none")
    assert d.observe(None, none, NOW) == (None, [])
    no_year = ExtractedReport(report_id="y", agency="a", template="gb2021")
    assert d.observe(None, no_year, NOW) == (None, [])


def test_update_history_keeps_first_received_at() -> None:
    h = update_history(None, make_report(2023, 1, 10), NOW)
    h2 = update_history(h, make_report(2023, 2, 10), NOW + timedelta(days=3))
    assert h2.years[2023].received_at == NOW and h2.years[2023].metrics["applications.refused.total"] == 2
    assert h2.first_seen == NOW


def test_peer_index_groups_by_region_and_kind() -> None:
    index = PeerIndex()
    a = update_history(None, make_report(2023, 1, 10, agency="甲区教育局", region="某市甲区"), NOW)
    b = update_history(None, make_report(2023, 2, 10, agency="甲区民政局", region="某市甲区"), NOW)
    c = update_history(None, make_report(2023, 2, 10, agency="甲区人民政府", region="某市甲区"), NOW)
    d = update_history(None, make_report(2023, 2, 10, agency="乙区民政局", region="某市乙区"), NOW)
    for h in (a, b, c, d):
        index.update(h)
    assert [p.agency_key for p in index.peers(a, 2023)] == ["甲区民政局"]
    assert index.peers(a, 2022) == []
    # moving region moves the agency
    index.update(b.model_copy(update={"region": "某市乙区"}))
    assert index.peers(a, 2023) == []
    assert len(index) == 4


def test_peers_veto_a_spike_that_the_whole_group_shares() -> None:
    reports = [make_report(2022, 2, 100, agency=f"甲区{n}局", region="某市甲区") for n in "一二三"]
    reports += [make_report(2023, 40, 100, agency=f"甲区{n}局", region="某市甲区") for n in "一二三"]
    spikes = [a for a in replay(detector(), reports, NOW) if a.rule == "refusal_spike"]
    # the first two agencies of 2023 have fewer than min_peers (2) peers yet and fall back to their
    # own history; the third has two peers with the same rate, which veto it — and, its group having
    # gained a report, the first two are re-tested against their peers: the veto resolves them
    assert [(a.agency, a.status.value, a.revision) for a in spikes] == [
        ("甲区一局", "open", 1),
        ("甲区二局", "open", 1),
        ("甲区一局", "resolved", 2),
        ("甲区二局", "resolved", 2),
    ]


def test_overdue_then_late_report_is_one_alert_in_two_revisions() -> None:
    from datetime import datetime

    from services.alerts.detector import alert_id as make_alert_id

    d = detector()
    watched_from = datetime(2025, 3, 1, tzinfo=UTC)  # after the 2024 deadline: a backfill
    h, _ = d.observe(None, make_report(2023, 1, 50), watched_from)
    assert h is not None
    later = datetime(2025, 4, 1, tzinfo=UTC)
    [overdue] = [f for f in d.scheduled(h, later) if f.year == 2024]
    alert1, state = reconcile(overdue, h, None, later)  # type: ignore[misc]
    emitted = {state.alert_id: state}
    # the report for 2024 arrives (no publication date): the overdue alert becomes "arrived late"
    arrival = datetime(2025, 4, 10, tzinfo=UTC)
    h2, findings = d.observe(h, make_report(2024, 1, 50), arrival, alerted=emitted.__contains__)
    [late] = [f for f in findings if f.rule == "overdue_report"]
    assert h2 is not None and make_alert_id(late, h2) == alert1.alert_id
    alert2, _ = reconcile(late, h2, emitted[alert1.alert_id], arrival)  # type: ignore[misc]
    assert alert2.revision == 2 and "late" in alert2.title and alert2.first_seen == later
    # without the overdue alert, the same backfilled report raises nothing
    _, quiet = d.observe(h, make_report(2024, 1, 50), arrival)
    assert not [f for f in quiet if f.rule == "overdue_report"]
