from __future__ import annotations

from services.alerts.rules import Context, PeerRecord
from services.alerts.rules.refusal_spike import RefusalSpike

from .conftest import NOW, make_history, make_record


def ctx(history, year, peers=()):  # type: ignore[no-untyped-def]
    return Context(history=history, year=year, now=NOW, peers=lambda y: list(peers))


def peers_at(year, *counts):  # type: ignore[no-untyped-def]
    return [PeerRecord(f"peer{i}", make_record(year, r, n)) for i, (r, n) in enumerate(counts)]


def test_clear_spike_fires_with_figures() -> None:
    h = make_history(make_record(2021, 5, 200), make_record(2022, 6, 180), make_record(2023, 60, 150))
    [f] = RefusalSpike().evaluate(ctx(h, 2023))
    assert f.rule == "refusal_spike" and f.year == 2023
    assert f.figures["refused"] == 60 and f.figures["handled"] == 150
    assert f.figures["history_refused"] == 11 and f.figures["history_handled"] == 380
    assert f.figures["p_value_history"] < 1e-6
    assert f.report_id == "rep2023"
    assert f.severity.value == "critical"


def test_small_counts_do_not_fire() -> None:
    # 3 of 4 refused is 75 %, after 0 of 30 — but 4 requests is below min_requests
    h = make_history(make_record(2022, 0, 30), make_record(2023, 3, 4))
    assert RefusalSpike().evaluate(ctx(h, 2023)) == []
    # and with min_requests lowered, the beta-binomial still asks for evidence
    rule = RefusalSpike({"min_requests": 1, "min_history_requests": 1, "alpha": 0.001})
    h2 = make_history(make_record(2022, 0, 3), make_record(2023, 2, 4))
    assert rule.evaluate(ctx(h2, 2023)) == []


def test_small_history_is_not_taken_as_exact() -> None:
    rule = RefusalSpike({"min_history_requests": 5, "alpha": 0.01})
    # history 0 of 5 vs now 8 of 25: binomial at p≈0 would scream; the beta-binomial does not
    h = make_history(make_record(2022, 0, 5), make_record(2023, 8, 25))
    assert rule.evaluate(ctx(h, 2023)) == []


def test_zero_denominator_and_missing_counts() -> None:
    h = make_history(make_record(2022, 1, 100), make_record(2023, 0, 0))
    assert RefusalSpike().evaluate(ctx(h, 2023)) == []
    h = make_history(make_record(2022, 1, 100), make_record(2023, 50, None))
    assert RefusalSpike().evaluate(ctx(h, 2023)) == []
    # earlier year with zero handled contributes nothing; the other year still counts
    h = make_history(make_record(2021, 0, 0), make_record(2022, 2, 100), make_record(2023, 60, 100))
    [f] = RefusalSpike().evaluate(ctx(h, 2023))
    assert f.figures["history_years"] == 1


def test_first_year_of_an_agency_never_fires() -> None:
    h = make_history(make_record(2023, 90, 100))
    assert RefusalSpike().evaluate(ctx(h, 2023)) == []


def test_missing_year_is_skipped_in_the_pool() -> None:
    h = make_history(make_record(2019, 2, 100), make_record(2021, 3, 100), make_record(2023, 50, 100))
    [f] = RefusalSpike().evaluate(ctx(h, 2023))
    assert f.figures["history_years"] == 2 and f.figures["history_handled"] == 200


def test_history_window_limits_the_pool() -> None:
    rule = RefusalSpike({"history_years": 1})
    h = make_history(make_record(2020, 2, 100), make_record(2022, 2, 100), make_record(2023, 50, 100))
    [f] = rule.evaluate(ctx(h, 2023))
    assert f.figures["history_years"] == 1


def test_small_increase_is_not_far_above() -> None:
    # significant with big counts, but only 4 points up: not a spike
    h = make_history(make_record(2022, 200, 2000), make_record(2023, 280, 2000))
    assert RefusalSpike().evaluate(ctx(h, 2023)) == []


def test_peers_with_the_same_rate_veto() -> None:
    h = make_history(make_record(2022, 2, 100), make_record(2023, 40, 100))
    assert RefusalSpike().evaluate(ctx(h, 2023, peers_at(2023, (45, 100), (38, 90)))) == []


def test_peers_with_a_low_rate_confirm() -> None:
    h = make_history(make_record(2022, 2, 100), make_record(2023, 40, 100))
    [f] = RefusalSpike().evaluate(ctx(h, 2023, peers_at(2023, (3, 100), (5, 120))))
    assert f.figures["peer_agencies"] == 2 and f.figures["p_value_peers"] is not None
    assert f.figures["peer_rate"] == 8 / 220


def test_too_few_peers_falls_back_or_requires() -> None:
    h = make_history(make_record(2022, 2, 100), make_record(2023, 40, 100))
    one_peer = peers_at(2023, (40, 100))
    [f] = RefusalSpike().evaluate(ctx(h, 2023, one_peer))
    assert f.figures["peer_rate"] is None
    assert RefusalSpike({"require_peers": True}).evaluate(ctx(h, 2023, one_peer)) == []


def test_disabled_by_parameters() -> None:
    assert not RefusalSpike({"enabled": False}).enabled


def test_finding_does_not_change_with_the_number_of_too_few_peers() -> None:
    h = make_history(make_record(2022, 2, 100), make_record(2023, 40, 100))
    [alone] = RefusalSpike().evaluate(ctx(h, 2023))
    [one_peer] = RefusalSpike().evaluate(ctx(h, 2023, peers_at(2023, (3, 100))))
    assert (alone.title, alone.message, alone.figures) == (one_peer.title, one_peer.message, one_peer.figures)
