"""Source unhealthy: a watched site we can no longer see.

Read from the monitor's per-source status (``ingest.status``, compacted;
``SourceStatus``), not from reports:

* **failing** — the last ``failed_polls`` polls (default 3) in a row
  failed (network errors, HTTP errors, a poll that raised);
* **blind** — the last successful poll's list pages yielded no report
  link, although an earlier poll found some (``last_found_at``): the site
  was revamped and the column moved, so the monitor succeeds at reading
  nothing.

One alert per source (the source is the alert's agency id; ``year`` is
empty). It resolves when the source recovers: a poll succeeds again and
finds report links. The finding's text carries no poll count, so a source
that keeps failing does not bump the alert's revision at every poll.
"""

from __future__ import annotations

from pydantic import Field

from schemas.events import Severity, SourceStatus
from services.alerts.rules.base import Finding, Rule, RuleParams


class SourceUnhealthyParams(RuleParams):
    failed_polls: int = Field(3, ge=1, description="polls failed in a row before the source counts as down")
    blind: bool = Field(
        True, description="also fire when list pages that used to yield report links yield none"
    )


def source_key(agency_id: str) -> str:
    """The key a source's alerts are filed under (never an agency name)."""
    return f"source:{agency_id}"


class SourceUnhealthy(Rule):
    name = "source_unhealthy"
    Params = SourceUnhealthyParams
    params: SourceUnhealthyParams

    def check_source(self, status: SourceStatus) -> list[Finding]:
        name = status.agency_name or status.agency_id
        if status.failed_polls >= self.params.failed_polls:
            return [
                Finding(
                    rule=self.name,
                    year=None,
                    severity=Severity.WARNING,
                    title=f"{name}: source unreachable",
                    message=f"At least {self.params.failed_polls} polls in a row failed; "
                    f"last error: {(status.last_error or '-')[:300]}",
                    figures={"failed_polls_threshold": float(self.params.failed_polls)},
                )
            ]
        blind = (
            self.params.blind
            and status.reports_found == 0
            and status.last_found_at is not None
            and status.last_success is not None
            and status.last_success > status.last_found_at
        )
        if blind:
            assert status.last_found_at is not None
            return [
                Finding(
                    rule=self.name,
                    year=None,
                    severity=Severity.WARNING,
                    title=f"{name}: list pages yield no report links",
                    message=f"The source's list pages were read but no report link was recognised; they last "
                    f"yielded links on {status.last_found_at.date().isoformat()} (site revamped?).",
                    figures={},
                )
            ]
        return []
