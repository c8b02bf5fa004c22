"""Broken identity: a report whose own tables fail a 勾稽 check
(``intake_balance``, ``outcome_sum``, ``reason_sums``, ``applicant_sums``,
``review_sum``, ...; see the catalogue).

One finding per agency-year listing every failed check, with the figures
the checks relate, so the alert shows the arithmetic that does not add up.
A later report for the same year that passes every check yields nothing,
so the detector resolves the earlier alert (its revisions stay as the record
of what was published). Severity is
critical from ``critical_checks`` failed checks upward, or when a check in
``critical_always`` fails.
"""

from __future__ import annotations

from pydantic import Field

from schemas.catalogue import CHECK_FIGURES  # the checks and the figures each relates: one home
from schemas.events import Severity
from services.alerts.rules.base import Context, Finding, Rule, RuleParams


class BrokenIdentityParams(RuleParams):
    critical_checks: int = Field(3, ge=1, description="this many failed checks make it critical")
    critical_always: list[str] = Field(
        default_factory=lambda: ["intake_balance"], description="a failed check here makes it critical"
    )
    ignore_checks: list[str] = Field(default_factory=list, description="checks never reported")


class BrokenIdentity(Rule):
    name = "broken_identity"
    Params = BrokenIdentityParams
    params: BrokenIdentityParams

    def evaluate(self, ctx: Context) -> list[Finding]:
        record = ctx.record
        if record is None:
            return []
        failed = sorted(c for c in record.failed_checks if c not in self.params.ignore_checks)
        if not failed:
            return []
        figures: dict[str, float | None] = {"failed_checks": float(len(failed))}
        for check in failed:
            figures[f"check.{check}"] = 0.0
            for key in CHECK_FIGURES.get(check, ()):
                if key in record.metrics:
                    figures[key] = record.metrics[key]
        critical = len(failed) >= self.params.critical_checks or any(
            c in self.params.critical_always for c in failed
        )
        agency = ctx.history.agency or ctx.history.agency_key
        return [
            self.finding(
                ctx,
                severity=Severity.CRITICAL if critical else Severity.WARNING,
                title=f"{agency} {ctx.year}: report fails {', '.join(failed)}",
                message=f"The {ctx.year} report's own tables do not add up: {', '.join(failed)} failed.",
                figures=figures,
            )
        ]
