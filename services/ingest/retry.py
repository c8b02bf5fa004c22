"""When to retry a fetch and how long to wait: timeouts, connection
errors, 408, 429 and 5xx are retried with exponential backoff and jitter;
a server's ``Retry-After`` is honoured up to the cap."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ogi.backoff import equal_jitter

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(
    attempt: int,
    base_s: float,
    cap_s: float,
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): the server's
    Retry-After if it gave one, else ``base * 2**attempt`` with "equal jitter"
    (half fixed, half random, so retries of many clients spread out);
    never more than ``cap_s``."""
    asked = retry_after_seconds(retry_after)
    if asked is not None:
        return min(asked, cap_s)
    return equal_jitter(attempt, base_s, cap_s, rng)
