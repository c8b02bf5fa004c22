"""Leader election (ogi/leader.py) on the real Kafka: the first instance
leads, a second one stands by without taking over (no flapping), and takes
over when the leader leaves."""

from __future__ import annotations

import time
import uuid

import pytest

from ogi.leader import Leadership
from ogi.settings import Settings
from ogi.topics import LEASES
from schemas.events import LeaderLease
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration


def test_oldest_leads_a_standby_waits_then_takes_over(platform: Settings) -> None:
    name = f"election-{uuid.uuid4().hex[:6]}"
    lost: list[str] = []
    first = Leadership(name, platform, on_lost=lambda: lost.append("first"))
    second = Leadership(name, platform, on_lost=lambda: lost.append("second"))
    try:
        assert first.acquire()
        second.start()
        # the second joins (a rebalance): the first keeps partition 0, the second stands by
        wait_for(second.joined.is_set, 60, "the second joins the group")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert first.leading and not second.leading and not lost
            time.sleep(0.5)
        first.release()
        assert second.acquire(lambda: False)
        assert second.leading and lost == []
    finally:
        first.release()
        second.release()
    leases = [lease for lease in read_topic(LEASES, platform, LeaderLease) if lease.group == f"{name}.leader"]
    assert len(leases) == 2 and leases[0].holder == leases[1].holder  # same process, both recorded
