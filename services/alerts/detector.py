"""The detector without Kafka: keep each agency's history, run the rules,
and turn findings into alerts, one alert per finding.

Everything here is a pure function of its arguments (``now`` is passed in),
so the Faust app (``app.py``) is a thin shell that loads and stores state in
tables, and the unit tests need no broker.

* ``Detector.observe(history, report, now, peers)`` -> the agency's updated
  history and the findings for the years the report may have changed (its
  own year, and later years whose baselines include it);
* ``Detector.scheduled(history, now)`` -> findings of clock-driven rules;
* ``reconcile(finding, history, previous, now)`` -> the ``Alert`` to emit
  and the new emitted-state, or ``None`` when the same finding was already
  emitted unchanged. A changed finding keeps its id and ``first_seen`` and
  gets ``revision + 1``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from schemas.events import AgencyHistory, Alert, EmittedAlert, ExtractedReport, Template, YearRecord
from services.alerts.agencies import agency_kind
from services.alerts.rules import Context, Finding, PeerRecord, Rule

#: how many later years a new report can change (refusal_spike pools up to 5 earlier years)
RE_EVALUATE_YEARS = 5

PeersFn = Callable[[AgencyHistory, int], Sequence[PeerRecord]]
#: does an alert with this id exist already?
AlertedFn = Callable[[str], bool]


def record_of(report: ExtractedReport, now: datetime, previous: YearRecord | None = None) -> YearRecord:
    return YearRecord(
        year=report.year or 0,
        report_id=report.report_id,
        source_url=report.source_url,
        published_at=report.published_at,
        received_at=previous.received_at if previous else now,
        template=report.template,
        metrics=dict(report.metrics),
        failed_checks=report.failed_checks,
        incomplete_sections=report.incomplete_sections,
    )


def is_reportable(report: ExtractedReport) -> bool:
    """Only annual reports with a year feed the detector."""
    return report.template != Template.NONE and report.year is not None


def update_history(history: AgencyHistory | None, report: ExtractedReport, now: datetime) -> AgencyHistory:
    """The agency's history with ``report`` in it (the latest document for a
    year replaces the earlier one; when it was first seen is kept)."""
    assert report.year is not None
    if history is None:
        history = AgencyHistory(agency_key=report.agency_key, first_seen=now)
    years = dict(history.years)
    years[report.year] = record_of(report, now, years.get(report.year))
    return history.model_copy(
        update={
            "agency": report.agency or history.agency,
            "agency_id": report.agency_id or history.agency_id,
            "region": report.region or history.region,
            "level": report.level or history.level,
            "years": years,
        }
    )


def peer_group(history: AgencyHistory) -> tuple[str, str]:
    """Peers are agencies of the same region and level; without a registry
    level, the kind the name implies (government / department)."""
    return (history.region or "", history.level or agency_kind(history.agency, None))


class PeerIndex:
    """Each peer group's agency-year records, kept in memory beside the
    history table (rebuilt from it after a restart)."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str, int], dict[str, YearRecord]] = {}
        self._where: dict[str, tuple[str, str]] = {}

    def update(self, history: AgencyHistory) -> None:
        old = self._where.get(history.agency_key)
        if old is not None:
            for (region, level, year), members in self._groups.items():
                if (region, level) == old:
                    members.pop(history.agency_key, None)
        group = peer_group(history)
        self._where[history.agency_key] = group
        for year, record in history.years.items():
            self._groups.setdefault((*group, year), {})[history.agency_key] = record

    def peers(self, history: AgencyHistory, year: int) -> list[PeerRecord]:
        members = self._groups.get((*peer_group(history), year), {})
        return [PeerRecord(k, r) for k, r in sorted(members.items()) if k != history.agency_key]

    def __len__(self) -> int:
        return len(self._where)


class Detector:
    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules

    def evaluate(self, history: AgencyHistory, year: int, now: datetime,
                 peers: PeersFn | None = None, alerted: AlertedFn | None = None) -> list[Finding]:
        ctx = Context(history=history, year=year, now=now,
                      peers=(lambda y: peers(history, y)) if peers else (lambda y: ()),
                      alerted=(lambda rule, y, detail: alerted(Alert.make_id(rule, history.agency_key, y, detail)))
                      if alerted else (lambda rule, y, detail: False))
        findings: list[Finding] = []
        for rule in self.rules.values():
            findings.extend(rule.evaluate(ctx))
        return findings

    def observe(self, history: AgencyHistory | None, report: ExtractedReport, now: datetime,
                peers: PeersFn | None = None, alerted: AlertedFn | None = None
                ) -> tuple[AgencyHistory | None, list[Finding]]:
        if not is_reportable(report):
            return history, []
        updated = update_history(history, report, now)
        assert report.year is not None
        findings: list[Finding] = []
        for year in sorted(updated.years):
            if report.year <= year <= report.year + RE_EVALUATE_YEARS:
                findings.extend(self.evaluate(updated, year, now, peers, alerted))
        return updated, findings

    def scheduled(self, history: AgencyHistory, now: datetime) -> list[Finding]:
        findings: list[Finding] = []
        for rule in self.rules.values():
            findings.extend(rule.scheduled(history, now))
        return findings


def alert_id(finding: Finding, history: AgencyHistory) -> str:
    return Alert.make_id(finding.rule, history.agency_key, finding.year, finding.detail)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def fingerprint(finding: Finding) -> str:
    """What makes two observations the same finding: everything but time."""
    body = {
        "rule": finding.rule,
        "year": finding.year,
        "detail": finding.detail,
        "severity": finding.severity.value,
        "title": finding.title,
        "message": finding.message,
        "figures": {k: _round(v) for k, v in sorted(finding.figures.items())},
        "report_id": finding.report_id,
        "report_url": finding.report_url,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def reconcile(finding: Finding, history: AgencyHistory, previous: EmittedAlert | None,
              now: datetime) -> tuple[Alert, EmittedAlert] | None:
    """The alert to emit for ``finding`` and the state to remember, or
    ``None`` if this exact finding was emitted before."""
    aid = alert_id(finding, history)
    fp = fingerprint(finding)
    if previous is not None and previous.fingerprint == fp:
        return None
    revision = previous.revision + 1 if previous else 1
    first_seen = previous.first_seen if previous else now
    alert = Alert(
        alert_id=aid,
        rule=finding.rule,
        agency=history.agency,
        agency_id=history.agency_id,
        region=history.region,
        level=history.level,
        year=finding.year,
        severity=finding.severity,
        title=finding.title,
        message=finding.message,
        figures=dict(finding.figures),
        report_id=finding.report_id,
        report_url=finding.report_url,
        first_seen=first_seen,
        updated_at=now,
        revision=revision,
    )
    state = EmittedAlert(alert_id=aid, fingerprint=fp, revision=revision, first_seen=first_seen, updated_at=now)
    return alert, state


def replay(detector: Detector, reports: Iterable[ExtractedReport], now: datetime,
           emitted: dict[str, EmittedAlert] | None = None) -> list[Alert]:
    """Run reports through the detector in memory, as the app would, and
    return the alerts emitted (every revision). For tests and backtests."""
    histories: dict[str, AgencyHistory] = {}
    emitted = {} if emitted is None else emitted
    index = PeerIndex()
    out: list[Alert] = []
    for report in reports:
        history, findings = detector.observe(histories.get(report.agency_key), report, now, index.peers,
                                             emitted.__contains__)
        if history is None:
            continue
        histories[history.agency_key] = history
        index.update(history)
        for finding in findings:
            result = reconcile(finding, history, emitted.get(alert_id(finding, history)), now)
            if result:
                out.append(result[0])
                emitted[result[1].alert_id] = result[1]
    return out
