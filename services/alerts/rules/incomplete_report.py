"""Incomplete report: a report whose template sections are printed but were
not read (``YearRecord.incomplete_sections``: proactive, applications,
review_litigation, fees; see ``services/extract/engine/sections.py``).

Such a year must never read as "0 applications": its figures are absent,
and subscribers who choose this rule learn that the agency-year needs a
look (the table may be an image, or a layout the extractor cannot read).
One finding per agency-year naming every incomplete section; critical when
a section in ``critical_sections`` is among them (by default the
applications table, the one the refusal alerts watch). A later report of
the same year that reads completely yields nothing.
"""

from __future__ import annotations

from pydantic import Field

from schemas.events import Severity
from services.alerts.rules.base import Context, Finding, Rule, RuleParams


class IncompleteReportParams(RuleParams):
    critical_sections: list[str] = Field(
        default_factory=lambda: ["applications"], description="an unread section here makes it critical"
    )
    ignore_sections: list[str] = Field(default_factory=list, description="sections never reported")


class IncompleteReport(Rule):
    name = "incomplete_report"
    Params = IncompleteReportParams
    params: IncompleteReportParams

    def evaluate(self, ctx: Context) -> list[Finding]:
        record = ctx.record
        if record is None:
            return []
        sections = sorted(s for s in record.incomplete_sections if s not in self.params.ignore_sections)
        if not sections:
            return []
        agency = ctx.history.agency or ctx.history.agency_key
        critical = any(s in self.params.critical_sections for s in sections)
        return [
            self.finding(
                ctx,
                severity=Severity.CRITICAL if critical else Severity.WARNING,
                title=f"{agency} {ctx.year}: report sections not read: {', '.join(sections)}",
                message=f"The {ctx.year} report prints {', '.join(sections)} but none of their figures could be "
                "read; they are missing from the figures and dashboards (not zero). Check the report.",
                figures={"incomplete_sections": float(len(sections))},
            )
        ]
