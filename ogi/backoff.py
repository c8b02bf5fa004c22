"""Retry delays shared by every service that retries (the site fetcher, the
alert deliverer)."""

from __future__ import annotations

import random


def equal_jitter(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based):
    ``base * 2**attempt`` capped at ``cap_s``, half of it fixed and half
    random ("equal jitter"), so the retries of many clients spread out
    while each still waits at least half the nominal delay."""
    delay = min(cap_s, base_s * (2 ** max(0, attempt)))
    return float(delay / 2 + (rng or random).random() * delay / 2)
