"""Backoff and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from ogi.backoff import backoff_delay, is_retryable_status, retry_after_seconds


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (429, 500, 502, 503, 504, 408))
    assert not any(is_retryable_status(s) for s in (200, 301, 304, 400, 403, 404, 410))


def test_exponential_with_jitter_and_cap() -> None:
    rng = random.Random(1)
    for attempt in range(6):
        exp = min(30.0, 1.0 * 2**attempt)
        delays = [backoff_delay(attempt, 1.0, 30.0, rng=rng) for _ in range(50)]
        assert all(exp / 2 <= d <= exp for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert backoff_delay(20, 1.0, 30.0, rng=rng) <= 30.0


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2024, 1, 15, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Mon, 15 Jan 2024 00:01:00 GMT", now) == 60
    assert retry_after_seconds("Sun, 14 Jan 2024 00:00:00 GMT", now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_retry_after_wins_but_is_capped() -> None:
    assert backoff_delay(0, 1.0, 60.0, retry_after="7") == 7
    assert backoff_delay(0, 1.0, 60.0, retry_after="3600") == 60
