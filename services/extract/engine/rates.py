"""Derived rates: computed from the figures, never read. Absent when a
denominator is zero or an input is missing."""

from __future__ import annotations


def _div(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def compute(m: dict[str, float]) -> dict[str, float]:
    g = m.get
    th = g("applications.total_handled")
    out: dict[str, float | None] = {
        "rates.refusal": _div(g("applications.refused.total"), th),
        "rates.grant": _div(
            (g("applications.granted") + g("applications.partially_granted"))  # type: ignore[operator]
            if g("applications.granted") is not None and g("applications.partially_granted") is not None
            else None,
            th,
        ),
        "rates.review_correction": _div(g("review.corrected"), g("review.total")),
    }
    dc, ac = g("litigation.direct.corrected"), g("litigation.after_review.corrected")
    dt, at = g("litigation.direct.total"), g("litigation.after_review.total")
    if None not in (dc, ac, dt, at):
        out["rates.litigation_correction"] = _div(dc + ac, dt + at)  # type: ignore[operator]
    return {k: v for k, v in out.items() if v is not None}
