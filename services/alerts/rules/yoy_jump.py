"""Year-on-year jump: a count that multiplied or collapsed from one year to
the next (requests received, refusals, not-held answers, corrections on
review and in litigation).

``ratio = (this + 1) / (last + 1)`` — the +1 keeps a zero year finite (0 → 12
is a ratio of 13, not infinity). A finding needs ``ratio >= ratio_high`` or
``ratio <= ratio_low`` and a base: the larger of the two years at least
``min_base`` (a metric may override it in ``min_base_by_metric``), so 1 → 6
stays quiet while 40 → 300 does not. Both years must state the metric (an
absent key is unknown, never 0) and be consecutive: with a missing year in
between there is no year-on-year figure, so no finding. The first year of an
agency has nothing to compare with. One finding per metric (the metric is the
alert's detail); severity is critical when the ratio passes
``critical_ratio`` (or its inverse).
"""

from __future__ import annotations

from pydantic import Field

from schemas.events import Severity, YearRecord
from services.alerts.rules.base import Context, Finding, Rule, RuleParams

#: composite metrics the rule can watch: name -> keys summed (all must be stated)
COMPOSITES: dict[str, tuple[str, ...]] = {
    "litigation.corrected": ("litigation.direct.corrected", "litigation.after_review.corrected"),
}


def value_of(record: YearRecord, metric: str) -> float | None:
    keys = COMPOSITES.get(metric, (metric,))
    values = [record.metrics.get(k) for k in keys]
    if any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


class YoyJumpParams(RuleParams):
    metrics: list[str] = Field(
        default_factory=lambda: [
            "applications.new_received",
            "applications.refused.total",
            "applications.unable.not_held",
            "review.corrected",
            "litigation.corrected",
        ],
        description="counts compared; litigation.corrected = direct + after review",
    )
    ratio_high: float = Field(5.0, gt=1, description="(this + 1) / (last + 1) at least this fires")
    ratio_low: float = Field(0.2, gt=0, lt=1, description="... or at most this")
    critical_ratio: float = Field(20.0, gt=1, description="ratio (or 1/ratio) at which severity is critical")
    min_base: float = Field(10.0, ge=0, description="the larger of the two years must reach this")
    min_base_by_metric: dict[str, float] = Field(
        default_factory=lambda: {"review.corrected": 3.0, "litigation.corrected": 3.0},
        description="min_base for these metrics",
    )


class YoyJump(Rule):
    name = "yoy_jump"
    Params = YoyJumpParams
    params: YoyJumpParams

    def evaluate(self, ctx: Context) -> list[Finding]:
        p = self.params
        record = ctx.record
        previous = ctx.history.years.get(ctx.year - 1)
        if record is None or previous is None:
            return []
        findings = []
        for metric in p.metrics:
            this, last = value_of(record, metric), value_of(previous, metric)
            if this is None or last is None:
                continue
            if max(this, last) < p.min_base_by_metric.get(metric, p.min_base):
                continue
            ratio = (this + 1) / (last + 1)
            if p.ratio_low < ratio < p.ratio_high:
                continue
            up = ratio >= p.ratio_high
            critical = ratio >= p.critical_ratio or ratio <= 1 / p.critical_ratio
            agency = ctx.history.agency or ctx.history.agency_key
            findings.append(
                self.finding(
                    ctx,
                    detail=metric,
                    severity=Severity.CRITICAL if critical else Severity.WARNING,
                    title=f"{agency} {ctx.year}: {metric} {'jumped' if up else 'fell'} {last:g} → {this:g}",
                    message=(
                        f"{metric} was {last:g} in {ctx.year - 1} and {this:g} in {ctx.year} "
                        f"(ratio {ratio:.2f} with +1 smoothing; thresholds {p.ratio_low:g}–{p.ratio_high:g})."
                    ),
                    figures={
                        "metric_previous": last,
                        "metric_current": this,
                        "ratio": ratio,
                        "previous_year": float(ctx.year - 1),
                    },
                )
            )
        return findings
