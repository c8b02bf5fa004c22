"""The overdue check's gate: every partition of the snapshot must be known
to be in the history, by what this process finished or what the group
committed before."""

from __future__ import annotations

from services.alerts.app import behind


def test_waits_for_every_partition_of_the_snapshot() -> None:
    snapshot = {0: 120, 1: 80, 2: 0}
    assert behind(snapshot, processed={}, committed={}) == {0: 120, 1: 80}
    # a restarted process: what earlier processes committed counts, what it finished since too
    assert behind(snapshot, processed={0: 100}, committed={0: 90, 1: 80}) == {0: 20}
    assert behind(snapshot, processed={0: 120}, committed={1: 80}) == {}


def test_records_after_the_snapshot_do_not_postpone_it() -> None:
    # continuous traffic: the topic grew past the snapshot, the detector is past it too
    assert behind({0: 50, 1: 50}, processed={0: 75, 1: 51}, committed={0: 40}) == {}


def test_gap_is_what_the_consumer_skipped() -> None:
    from services.alerts.app import gap

    assert gap(None, 7) is None  # nothing known yet
    assert gap(5, 5) is None  # the next record
    assert gap(5, 3) is None  # a replay after a rebalance: processed again, harmlessly
    assert gap(5, 8) == (5, 8)  # 5, 6 and 7 were skipped
