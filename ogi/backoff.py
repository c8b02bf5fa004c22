"""When to retry and how long to wait, for every service that retries an
HTTP peer (the site fetcher, the webhook deliverer): which answers are worth
another try, the server's ``Retry-After``, and exponential backoff with
"equal jitter". Elasticsearch's own retryable answers are narrower and live
with the bulk writer (``services/index/store.py``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: answers of a web server that may well succeed later: timeouts, rate
#: limits, and server-side failures (5xx, including the CDN-specific 52x)
RETRYABLE_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})


def is_retryable_status(status: int) -> bool:
    """Worth another try: the statuses above, and any other 5xx."""
    return status in RETRYABLE_HTTP_STATUS or status >= 500


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


def equal_jitter(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based):
    ``base * 2**attempt`` capped at ``cap_s``, half of it fixed and half
    random ("equal jitter"), so the retries of many clients spread out
    while each still waits at least half the nominal delay."""
    delay = min(cap_s, base_s * (2 ** max(0, attempt)))
    return float(delay / 2 + (rng or random).random() * delay / 2)


def backoff_delay(
    attempt: int,
    base_s: float,
    cap_s: float,
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): the server's
    Retry-After if it gave one, else :func:`equal_jitter`; never more than
    ``cap_s``."""
    asked = retry_after_seconds(retry_after)
    if asked is not None:
        return min(asked, cap_s)
    return equal_jitter(attempt, base_s, cap_s, rng)
