"""Overdue report: no report for year Y by the statutory deadline, and the
report that arrives late.

Deadlines (条例 arts. 49–50): a department publishes by 31 January, a
government (人民政府, 管委会, 街道办事处, 乡镇) by 31 March of year Y+1; for
reporting years before 2019 (2008 条例) everyone by 31 March. Which kind an
agency is comes from its level, else its name
(``services.alerts.agencies.agency_kind``). Dates are compared in China
time (UTC+8).

* ``scheduled`` (the detector's timer): for each year Y after the agency's
  first known year, at most ``lookback_years`` back, whose deadline plus
  ``grace_days`` has passed with no report: a warning. An agency is only
  expected to report once we know it reported before, so the first year of
  an agency never fires; a missing year in the middle of a history does.
* ``evaluate`` (a report arrives): if it was published (``published_at``)
  after the deadline, or — when the site gave no date — it arrived after an
  overdue alert had been raised for it (or the agency was watched since
  before the deadline and the report was first seen after it), the same
  finding (same alert id) becomes "arrived late" and closes the alert (a
  revision with status ``resolved``), never a second alert. A report that
  arrived in time resolves an open overdue alert all the same (the
  detector resolves what a re-evaluation no longer finds). A backfill of
  old years for an agency first seen today raises nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from pydantic import Field

from schemas.events import AgencyHistory, Severity
from services.alerts.agencies import agency_kind, deadline
from services.alerts.rules.base import Context, Finding, Rule, RuleParams

CHINA = timezone(timedelta(hours=8))


def china_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()


class OverdueReportParams(RuleParams):
    department_deadline: tuple[int, int] = Field((1, 31), description="(month, day) in year Y+1")
    government_deadline: tuple[int, int] = Field((3, 31), description="(month, day) in year Y+1")
    before_2019_deadline: tuple[int, int] = Field(
        (3, 31), description="2008 条例: every agency, years < 2019"
    )
    grace_days: int = Field(0, ge=0, description="days after the deadline before 'overdue' fires")
    lookback_years: int = Field(2, ge=1, description="how many past years the timer checks")


class OverdueReport(Rule):
    name = "overdue_report"
    Params = OverdueReportParams
    params: OverdueReportParams

    def deadline_for(self, history: AgencyHistory, year: int) -> date:
        kind = agency_kind(history.agency, history.level)
        return deadline(
            kind,
            year,
            department=self.params.department_deadline,
            government=self.params.government_deadline,
            before_2019=self.params.before_2019_deadline,
        )

    def scheduled(self, history: AgencyHistory, now: datetime) -> list[Finding]:
        if not history.years:
            return []
        today = china_date(now)
        first = min(history.years)
        start = max(first + 1, today.year - self.params.lookback_years)
        findings = []
        for year in range(start, today.year):
            if year in history.years:
                continue
            due = self.deadline_for(history, year)
            if today <= due + timedelta(days=self.params.grace_days):
                continue
            agency = history.agency or history.agency_key
            findings.append(
                Finding(
                    rule=self.name,
                    year=year,
                    severity=Severity.WARNING,
                    title=f"{agency}: no {year} annual report (due {due.isoformat()})",
                    # no "days overdue" here: the finding must not change with the clock, or
                    # every timer tick would bump the alert's revision
                    message=f"No annual report for {year} was found by the statutory deadline "
                    f"{due.isoformat()} ({agency_kind(history.agency, history.level)}).",
                    figures={
                        "last_year_reported": float(
                            max((y for y in history.years if y < year), default=first)
                        )
                    },
                )
            )
        return findings

    def evaluate(self, ctx: Context) -> list[Finding]:
        record = ctx.record
        if record is None:
            return []
        due = self.deadline_for(ctx.history, ctx.year)
        limit = due + timedelta(days=self.params.grace_days)
        if record.published_at is not None:
            arrived, how = record.published_at, "published"
        elif china_date(ctx.history.first_seen) <= due or ctx.alerted(self.name, ctx.year, ""):
            arrived, how = china_date(record.received_at), "first seen"
        else:
            return []  # backfill of an agency we did not watch at the time: lateness unknown
        if arrived <= limit:
            return []
        agency = ctx.history.agency or ctx.history.agency_key
        days = (arrived - due).days
        return [
            self.finding(
                ctx,
                severity=Severity.INFO,
                title=f"{agency}: {ctx.year} annual report arrived {days} days late",
                message=f"The {ctx.year} report was {how} on {arrived.isoformat()}, "
                f"{days} days after the deadline {due.isoformat()}.",
                figures={"days_late": float(days)},
                resolved=True,
            )
        ]
