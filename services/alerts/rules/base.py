"""The rule interface, and what a rule sees and returns.

A rule is a class with a ``name``, a ``Params`` model (validated from the
rule's block in the parameters YAML) and two hooks:

``evaluate(ctx)``
    called by the detector for an agency-year whenever the figures it
    depends on may have changed: when a report for that year arrives, and
    when the year before it arrives (late or out of order). Returns the
    findings for that agency-year, or ``[]``. Must be pure: same context,
    same findings.

``scheduled(history, now)``
    called on a timer for every known agency, for rules that fire on
    *absence* (a report that should exist by now). Default: nothing.

``check_source(status)``
    called for each source status the monitor publishes, for rules about
    the sources themselves (``source_unhealthy``). Default: nothing.

Resolution: when the detector re-evaluates a rule for an agency-year and
an alert of that rule for that agency-year is open but no longer found,
the detector resolves it (a new revision with status ``resolved``). A rule
may also return a finding with ``resolved=True`` to close its alert with
its own words (the overdue report that arrived late).

A rule never emits alerts itself: the detector turns findings into
``Alert`` events, keeps one alert per finding id and bumps its revision
when a finding changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import AgencyHistory, Severity, SourceStatus, YearRecord


class RuleParams(BaseModel):
    """Base of every rule's parameters; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="false turns the rule off")


@dataclass(frozen=True)
class PeerRecord:
    """One other agency's figures for the same year in the same peer group."""

    agency_key: str
    record: YearRecord


@dataclass(frozen=True)
class Context:
    """What a rule sees when it evaluates one agency-year."""

    history: AgencyHistory
    year: int
    now: datetime
    #: the agency's peers (same region and level) for a year, itself excluded
    peers: Callable[[int], Sequence[PeerRecord]] = lambda year: ()
    #: whether an alert (rule, year, detail) was already emitted for this agency
    alerted: Callable[[str, int, str], bool] = lambda rule, year, detail: False

    @property
    def record(self) -> YearRecord | None:
        return self.history.years.get(self.year)

    def earlier(self, max_years: int | None = None) -> list[YearRecord]:
        """The agency's records before ``year``, newest first."""
        years = sorted((y for y in self.history.years if y < self.year), reverse=True)
        if max_years is not None:
            years = [y for y in years if y >= self.year - max_years]
        return [self.history.years[y] for y in years]


@dataclass
class Finding:
    """One thing a rule found about one agency-year. ``detail``
    distinguishes several findings of one rule for one agency-year (e.g. the
    metric of a year-on-year jump); it is part of the alert id."""

    rule: str
    year: int | None
    severity: Severity
    title: str
    message: str
    figures: dict[str, float | None] = field(default_factory=dict)
    detail: str = ""
    report_id: str | None = None
    report_url: str | None = None
    #: the finding closes its alert (e.g. "the overdue report arrived"): sent
    #: as a revision with status ``resolved``
    resolved: bool = False


class Rule:
    """Base class: subclasses set ``name`` and ``Params`` and override the
    hooks they need."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[RuleParams]] = RuleParams
    #: ``evaluate`` reads ``ctx.peers``: when a peer group gains or changes a
    #: year, the detector re-runs the rule for the group's other agencies
    uses_peers: ClassVar[bool] = False

    def __init__(self, params: RuleParams | dict[str, Any] | None = None) -> None:
        if isinstance(params, RuleParams):
            self.params = params
        else:
            self.params = self.Params.model_validate(params or {})

    @property
    def enabled(self) -> bool:
        return bool(self.params.enabled)

    def evaluate(self, ctx: Context) -> list[Finding]:
        """Findings for ``ctx.history`` in ``ctx.year`` (see module doc)."""
        return []

    def scheduled(self, history: AgencyHistory, now: datetime) -> list[Finding]:
        """Findings that depend on the clock, not on a new report."""
        return []

    def check_source(self, status: SourceStatus) -> list[Finding]:
        """Findings about one source's health (see module doc)."""
        return []

    def finding(self, ctx: Context, **fields: Any) -> Finding:
        """A finding about ``ctx.year`` that links the report it is about."""
        record = ctx.record
        fields.setdefault("report_id", record.report_id if record else None)
        fields.setdefault("report_url", record.source_url if record else None)
        return Finding(rule=self.name, year=ctx.year, **fields)
