"""A reduced scale test: one local server answers as 100 sites on distinct
loopback addresses (127.0.x.y), each its own host; a real monitor on the
real Kafka polls them all within one interval, never faster than the
per-host delay or concurrency, publishes every report exactly once, and a
second poll of an unchanged site costs the list pages and the recent item.
The 1,000-site figures come from ``make bench-ingest`` (tests/scale.py is the
scenario both run)."""

from __future__ import annotations

import pytest

from ogi.settings import Settings
from tests.scale import REPORTS, run_scale

pytestmark = pytest.mark.integration

SITES = 100
DELAY_S = 0.3


def test_a_hundred_sites_polled_politely_within_one_interval(platform: Settings) -> None:
    figures = run_scale(platform, SITES, delay_s=DELAY_S, workers=25, interval_s=240.0)
    assert not figures.problems, figures.problems[:5]
    # every report of every site, once (no URL published twice)
    assert figures.published == figures.distinct_published == SITES * REPORTS
    # politeness per host, as the sites saw it: one request in flight, and
    # consecutive arrivals at least the delay apart (the server stamps them in
    # its own process, and the throttle counts the delay from a request's end)
    assert figures.max_in_flight == 1
    assert figures.min_gap_s >= DELAY_S, figures
    # a poll costs what is new: list pages (304) and the one recent report
    assert figures.requests_per_poll_after == 3 and figures.requests_per_poll_before == 2 + REPORTS
