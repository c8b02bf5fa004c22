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
  gets ``revision + 1``;
* ``resolve(previous, now, reason)`` -> the last revision of an open alert
  whose finding is gone (status ``resolved``);
* ``Engine``: the whole state machine over two stores (agency histories,
  emitted alerts) — a report in, the alerts to send out, including the
  resolutions and the re-run of peer rules for the group that changed. The
  Faust app backs the stores with its tables; ``replay`` with dicts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from schemas.events import (
    AgencyHistory,
    Alert,
    AlertStatus,
    EmittedAlert,
    ExtractedReport,
    SourceStatus,
    Template,
    YearRecord,
)
from services.alerts.agencies import agency_kind
from services.alerts.rules import Context, Finding, PeerRecord, Rule
from services.alerts.rules.source_unhealthy import source_key

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
            for (region, level, _year), members in self._groups.items():
                if (region, level) == old:
                    members.pop(history.agency_key, None)
        group = peer_group(history)
        self._where[history.agency_key] = group
        for year, record in history.years.items():
            self._groups.setdefault((*group, year), {})[history.agency_key] = record

    def peers(self, history: AgencyHistory, year: int) -> list[PeerRecord]:
        members = self._groups.get((*peer_group(history), year), {})
        return [PeerRecord(k, r) for k, r in sorted(members.items()) if k != history.agency_key]

    def members(self, history: AgencyHistory, year: int) -> list[str]:
        """The other agencies of ``history``'s group with a record for ``year``."""
        return [p.agency_key for p in self.peers(history, year)]

    def __len__(self) -> int:
        return len(self._where)


def evaluated_years(history: AgencyHistory, year: int) -> list[int]:
    """The years a report for ``year`` may have changed: its own, and later
    years whose baselines include it."""
    return [y for y in sorted(history.years) if year <= y <= year + RE_EVALUATE_YEARS]


class Detector:
    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules

    def evaluate(
        self,
        history: AgencyHistory,
        year: int,
        now: datetime,
        peers: PeersFn | None = None,
        alerted: AlertedFn | None = None,
        rules: Iterable[Rule] | None = None,
    ) -> list[Finding]:
        ctx = Context(
            history=history,
            year=year,
            now=now,
            peers=(lambda y: peers(history, y)) if peers else (lambda y: ()),
            alerted=(lambda rule, y, detail: alerted(Alert.make_id(rule, history.agency_key, y, detail)))
            if alerted
            else (lambda rule, y, detail: False),
        )
        findings: list[Finding] = []
        for rule in self.rules.values() if rules is None else rules:
            findings.extend(rule.evaluate(ctx))
        return findings

    @property
    def peer_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.uses_peers]

    def observe(
        self,
        history: AgencyHistory | None,
        report: ExtractedReport,
        now: datetime,
        peers: PeersFn | None = None,
        alerted: AlertedFn | None = None,
    ) -> tuple[AgencyHistory | None, list[Finding]]:
        if not is_reportable(report):
            return history, []
        updated = update_history(history, report, now)
        assert report.year is not None
        findings: list[Finding] = []
        for year in evaluated_years(updated, report.year):
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


def reconcile(
    finding: Finding, history: AgencyHistory, previous: EmittedAlert | None, now: datetime
) -> tuple[Alert, EmittedAlert] | None:
    """The alert to emit for ``finding`` and the state to remember, or
    ``None`` if this exact finding was emitted before."""
    aid = alert_id(finding, history)
    fp = fingerprint(finding)
    status = AlertStatus.RESOLVED if finding.resolved else AlertStatus.OPEN
    if previous is not None and previous.fingerprint == fp and previous.status == status:
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
        status=status,
        resolved_at=now if finding.resolved else None,
    )
    state = EmittedAlert(
        alert_id=aid,
        fingerprint=fp,
        revision=revision,
        first_seen=first_seen,
        updated_at=now,
        agency_key=history.agency_key,
        status=status,
        alert=alert,
    )
    return alert, state


def resolve(previous: EmittedAlert, now: datetime, reason: str) -> tuple[Alert, EmittedAlert] | None:
    """The resolved revision of an open alert whose finding is gone, or
    ``None`` if it is resolved already (or predates resolution: no body)."""
    if previous.status == AlertStatus.RESOLVED or previous.alert is None:
        return None
    revision = previous.revision + 1
    alert = previous.alert.model_copy(
        update={
            "revision": revision,
            "status": AlertStatus.RESOLVED,
            "updated_at": now,
            "resolved_at": now,
            "message": f"Resolved: {reason}. Was: {previous.alert.message}",
        }
    )
    state = previous.model_copy(
        update={"revision": revision, "status": AlertStatus.RESOLVED, "updated_at": now, "alert": alert}
    )
    return alert, state


M = TypeVar("M")


class Store(Protocol[M]):
    """Key -> model storage the engine reads and writes (a dict in tests,
    a Faust table in the app)."""

    def get(self, key: str) -> M | None: ...

    def put(self, key: str, value: M) -> None: ...

    def values(self) -> Iterable[M]: ...


class MemoryStore(Generic[M]):
    def __init__(self, data: dict[str, M] | None = None) -> None:
        self.data = {} if data is None else data

    def get(self, key: str) -> M | None:
        return self.data.get(key)

    def put(self, key: str, value: M) -> None:
        self.data[key] = value

    def values(self) -> Iterator[M]:
        return iter(list(self.data.values()))


@dataclass(frozen=True)
class Outcome:
    """One alert revision to send, and the emitted-state to record once the
    broker acknowledged it (``Engine.commit``)."""

    alert: Alert
    remembered: EmittedAlert


Scope = set[tuple[str, int | None]]


def _record_changed(before: AgencyHistory | None, after: AgencyHistory, year: int) -> bool:
    old = before.years.get(year) if before else None
    new = after.years.get(year)
    return old is None or new is None or old.metrics != new.metrics


class Engine:
    """The detector's state machine. Histories and emitted alerts live in
    the two stores; the peer index and an index of alert ids by agency are
    in memory, rebuilt from the stores on first use.

    Every ``on_*`` method updates the history store at once and returns the
    alert revisions to send; the caller sends each and then calls
    ``commit`` (so the emitted-state never says "sent" before the broker
    acknowledged it). Resolution: after an agency-year is re-evaluated, its
    open alerts of the rules re-run that the new evaluation did not find are
    resolved."""

    def __init__(
        self, detector: Detector, histories: Store[AgencyHistory], ledger: Store[EmittedAlert]
    ) -> None:
        self.detector = detector
        self.histories = histories
        self.ledger = ledger
        self.peers = PeerIndex()
        self._by_agency: dict[str, set[str]] = {}
        self._indexed = False

    # -- indexes -----------------------------------------------------------
    def ensure_index(self) -> None:
        if self._indexed:
            return
        for history in self.histories.values():
            self.peers.update(history)
        for emitted in self.ledger.values():
            self._file(emitted)
        self._indexed = True

    def reset_index(self) -> None:
        """Forget the in-memory indexes (after a rebalance the stores changed)."""
        self.peers = PeerIndex()
        self._by_agency = {}
        self._indexed = False

    def _file(self, emitted: EmittedAlert) -> None:
        if emitted.agency_key:
            self._by_agency.setdefault(emitted.agency_key, set()).add(emitted.alert_id)

    def _alerted(self, aid: str) -> bool:
        return self.ledger.get(aid) is not None

    def commit(self, outcome: Outcome) -> None:
        self.ledger.put(outcome.remembered.alert_id, outcome.remembered)
        self._file(outcome.remembered)

    # -- events ------------------------------------------------------------
    def on_report(self, report: ExtractedReport, now: datetime) -> list[Outcome]:
        """A report arrived: its agency's findings for the years it may have
        changed, resolutions, and the peer rules re-run for the agencies of
        its peer group in its year when that year's figures changed."""
        self.ensure_index()
        before = self.histories.get(report.agency_key)
        history, findings = self.detector.observe(before, report, now, self.peers.peers, self._alerted)
        if history is None or report.year is None:
            return []
        self.histories.put(history.agency_key, history)
        self.peers.update(history)
        year = report.year
        scope: Scope = {(r, y) for r in self.detector.rules for y in evaluated_years(history, year)}
        out = self.settle(history, findings, scope, now, f"re-evaluated with report {report.report_id}")
        if _record_changed(before, history, year):
            out += self.rerun_peers(history, year, now)
        return out

    def rerun_peers(self, changed: AgencyHistory, year: int, now: datetime) -> list[Outcome]:
        """Late peers: ``changed``'s group gained or changed a record for
        ``year``; re-run the peer rules for the group's other agencies in
        that year only."""
        rules = self.detector.peer_rules
        if not rules:
            return []
        scope: Scope = {(r.name, year) for r in rules}
        out: list[Outcome] = []
        for key in self.peers.members(changed, year):
            peer = self.histories.get(key)
            if peer is None:
                continue
            findings = self.detector.evaluate(peer, year, now, self.peers.peers, self._alerted, rules)
            out += self.settle(
                peer,
                findings,
                scope,
                now,
                f"peer group re-tested after {changed.agency or changed.agency_key} reported {year}",
            )
        return out

    def on_schedule(self, now: datetime) -> list[Outcome]:
        """Clock-driven rules for every agency (raise only: what they found
        resolves when the missing report arrives)."""
        self.ensure_index()
        out: list[Outcome] = []
        for history in self.histories.values():
            out += self.settle(history, self.detector.scheduled(history, now), set(), now, "")
        return out

    def on_source(self, status: SourceStatus, now: datetime) -> list[Outcome]:
        """A source's status changed: raise or resolve its health alert."""
        self.ensure_index()
        key = source_key(status.agency_id)
        pseudo = AgencyHistory(
            agency_key=key, agency=status.agency_name, agency_id=status.agency_id, first_seen=now
        )
        findings = [f for rule in self.detector.rules.values() for f in rule.check_source(status)]
        scope: Scope = {(name, None) for name in self.detector.rules}
        return self.settle(pseudo, findings, scope, now, "the source recovered")

    def settle(
        self, history: AgencyHistory, findings: list[Finding], scope: Scope, now: datetime, reason: str
    ) -> list[Outcome]:
        """New or changed findings, plus the resolution of every open alert
        of ``history`` in ``scope`` (rule, year) that ``findings`` lacks."""
        out: list[Outcome] = []
        found: set[str] = set()
        for finding in findings:
            aid = alert_id(finding, history)
            found.add(aid)
            result = reconcile(finding, history, self.ledger.get(aid), now)
            if result is not None:
                out.append(Outcome(*result))
        for aid in sorted(self._by_agency.get(history.agency_key, ()) if scope else ()):
            previous = self.ledger.get(aid)
            if aid in found or previous is None or previous.alert is None:
                continue
            if (previous.alert.rule, previous.alert.year) not in scope:
                continue
            result = resolve(previous, now, reason)
            if result is not None:
                out.append(Outcome(*result))
        return out


def replay(
    detector: Detector,
    reports: Iterable[ExtractedReport],
    now: datetime,
    emitted: dict[str, EmittedAlert] | None = None,
) -> list[Alert]:
    """Run reports through the detector in memory, as the app would, and
    return the alerts emitted (every revision). For tests and backtests."""
    engine = Engine(detector, MemoryStore(), MemoryStore({} if emitted is None else emitted))
    out: list[Alert] = []
    for report in reports:
        for outcome in engine.on_report(report, now):
            out.append(outcome.alert)
            engine.commit(outcome)
    return out
