"""The detector and the deliverer on the real servers, fed with extracted
reports and source statuses published straight to their topics (the
extraction is tested elsewhere; here the detector's input is the point):

* a detector killed with SIGKILL and restarted behind a 300-report backlog
  raises the one true overdue alert and none for the agencies whose reports
  are still in the backlog;
* the overdue check runs while reports keep arriving (5 a second), without
  a false alert;
* two detectors and two deliverers (leader + standby each): killing both
  leaders mid-stream loses no finding and duplicates none; resolutions (a
  corrected re-upload, a source that recovers) reach the subscriber.

Every wait is on a condition (a log line, an offset, an alert), never on
time alone.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ogi.broker import make_producer, publish
from ogi.settings import Settings
from ogi.topics import ALERTS, DETECT_HISTORY, EXTRACTED, INGEST_STATUS
from schemas import Alert, ExtractedReport
from schemas.events import AgencyHistory, AlertStatus, SourceStatus
from services.alerts.delivery.webhook import IDEMPOTENCY_KEY
from tests.e2e.test_alerts_e2e import last_due_year, ogi
from tests.support import Service, read_topic, wait_for
from tests.unit.alerts.receivers import http_receiver

pytestmark = pytest.mark.e2e

REGION = "丙市戊区"
#: how long reports keep arriving during the overdue check (the issue asks for about 2 minutes;
#: with a check every 2 s, 60 s already runs some 30 checks under traffic on a loaded 2-core machine)
TRAFFIC_S = float(os.environ.get("OGI_TEST_TRAFFIC_S", "60"))
TRAFFIC_PER_S = 5.0


def last_year() -> int:
    return last_due_year((datetime.now(UTC) + timedelta(hours=8)).date())


def report(agency: str, year: int, *, broken: bool = False, version: str = "") -> ExtractedReport:
    """A steady department report (about 4 % refusals), published on time."""
    handled = 90.0
    return ExtractedReport(
        report_id=f"{agency}-{year}{version}",
        agency=agency,
        region=REGION,
        year=year,
        template="gb2021",
        metrics={
            "applications.refused.total": 4.0,
            "applications.total_handled": handled,
            "applications.new_received": 88.0,
        },
        checks={"intake_balance": not broken, "outcome_sum": True},
        source_url=f"https://example.gov.cn/{agency}/{year}{version}.html",
        published_at=date(year + 1, 1, 15),
    )


class Publisher:
    """Publishes models to their topics and waits for the acks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = make_producer(settings)

    def send(self, *items: ExtractedReport | SourceStatus) -> None:
        futures = [
            publish(
                self.producer,
                EXTRACTED if isinstance(m, ExtractedReport) else INGEST_STATUS,
                m,
                self.settings,
            )
            for m in items
        ]
        for f in futures:
            f.get(timeout=120)

    def close(self) -> None:
        self.producer.close()


@pytest.fixture
def publisher(platform: Settings) -> Iterator[Publisher]:
    p = Publisher(platform)
    yield p
    p.close()


@pytest.fixture
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("detector-e2e-logs")


@pytest.fixture
def services() -> Iterator[dict[str, Service]]:
    running: dict[str, Service] = {}
    yield running
    for svc in running.values():
        svc.stop()


def alerts_of(settings: Settings, agencies: set[str]) -> list[Alert]:
    return [a for a in read_topic(ALERTS, settings, Alert) if a.agency in agencies or a.agency_id in agencies]


def histories(settings: Settings) -> dict[str, set[int]]:
    """The years the detector's history holds per agency, from its changelog
    (what it has processed, observed from outside)."""
    latest: dict[str, set[int]] = {}
    for rec in read_topic(DETECT_HISTORY, settings):
        if rec.value:
            history = AgencyHistory.model_validate_json(rec.value)
            latest[history.agency_key] = set(history.years)
    return latest


def holds(settings: Settings, expected: dict[str, set[int]]) -> bool:
    have = histories(settings)
    return all(years <= have.get(agency, set()) for agency, years in expected.items())


def events(service: Service, name: str) -> int:
    return sum(1 for line in service.log().splitlines() if f'"event": "{name}"' in line)


def dump(running: dict[str, Service]) -> str:
    return "\n".join(f"--- {n} ---\n{s.log()[-3000:]}" for n, s in running.items())


def test_restarted_detector_with_a_300_report_backlog_raises_only_the_true_overdue(
    platform: Settings, publisher: Publisher, services: dict[str, Service], logs: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    last = last_year()
    years = list(range(last - 4, last + 1))
    steady, missing = f"稳定局{run}", f"缺报局{run}"
    others = [f"其他局{run}-{i:02d}" for i in range(60)]
    mine = {steady, missing, *others}

    # the detector knows the steady agency's first four years and the other agency's four; its overdue
    # timer (hourly) does not run yet: its verdict on the steady agency, whose last report is not
    # published yet, would be right, and is not what this test is about
    publisher.send(*[report(steady, y) for y in years[:4]], *[report(missing, y) for y in years[:4]])
    services["detect"] = Service("detect", platform, logs)
    wait_for(
        lambda: holds(platform, {steady: set(years[:4]), missing: set(years[:4])}),
        240,
        "the detector read the first reports",
        lambda: dump(services),
        services.values(),
    )
    services.pop("detect").stop(signal.SIGKILL)

    # 300 reports arrive while it is down, oldest year first; the steady agency's last report is the
    # very last record: every overdue check that ran before the backlog was read would flag them
    backlog = [report(a, y) for y in years for a in others] + [report(steady, last)]
    assert len(backlog) > 300
    publisher.send(*backlog)

    detect = services["detect"] = Service("detect", platform, logs, OGI_DETECT_OVERDUE_INTERVAL_S="1")

    backlog_read = {a: set(years) for a in [steady, *others]}

    def settled() -> bool:
        overdue = [a for a in alerts_of(platform, mine) if a.rule == "overdue_report"]
        return bool(overdue) and holds(platform, backlog_read)

    wait_for(
        settled,
        300,
        "the true overdue alert, with the backlog read",
        lambda: dump(services),
        services.values(),
    )
    # two more complete checks after the backlog was read: a false alert would have had its chance
    checks = events(detect, "overdue check done")
    wait_for(
        lambda: events(detect, "overdue check done") >= checks + 2,
        120,
        "two more overdue checks",
        lambda: dump(services),
        services.values(),
    )

    alerts = alerts_of(platform, mine)
    assert [(a.agency, a.year, a.status.value) for a in alerts if a.rule == "overdue_report"] == [
        (missing, last, "open")
    ], dump(services)
    assert not [a for a in alerts if a.agency != missing], (
        "an agency whose report was in the backlog was flagged"
    )


def test_overdue_check_runs_under_continuous_traffic_without_a_false_alert(
    platform: Settings, publisher: Publisher, services: dict[str, Service], logs: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    last = last_year()
    years = list(range(last - 4, last + 1))
    steady, missing = f"稳定局{run}", f"缺报局{run}"
    mine = {steady, missing}

    # the steady agency complete (its last year first in the stream), the other one short of its last year
    publisher.send(
        *[report(missing, y) for y in years[:4]],
        report(steady, last),
        *[report(steady, y) for y in years[:4]],
    )
    stop = threading.Event()
    sent = {"count": 0}
    published: dict[str, set[int]] = {}

    def traffic() -> None:
        # new agencies, newest year first: their histories never have a gap, so any overdue alert
        # for them would be false; each report is acknowledged before the next is due
        p = Publisher(platform)
        try:
            t0 = time.monotonic()
            i = 0
            while not stop.is_set() and time.monotonic() - t0 < TRAFFIC_S:
                agency = f"流量局{run}-{i // len(years):04d}"
                if agency not in mine:
                    mine.add(agency)
                year = years[-1 - i % len(years)]
                p.send(report(agency, year))
                published.setdefault(agency, set()).add(year)
                i += 1
                sent["count"] = i
                stop.wait(max(0.0, t0 + i / TRAFFIC_PER_S - time.monotonic()))
        finally:
            p.close()

    feeder = threading.Thread(target=traffic, daemon=True)
    feeder.start()
    try:
        detect = services["detect"] = Service("detect", platform, logs, OGI_DETECT_OVERDUE_INTERVAL_S="2")
        # the true alert must come while the traffic still flows: the check is not postponed by it
        wait_for(
            lambda: (
                [a for a in alerts_of(platform, {missing}) if a.rule == "overdue_report"]
                or not feeder.is_alive()
            ),
            TRAFFIC_S + 60,
            "the overdue alert during the traffic",
            lambda: dump(services),
            services.values(),
        )
        assert feeder.is_alive(), "the overdue check did not run while reports kept arriving\n" + dump(
            services
        )
        checks_during = events(detect, "overdue check done")
        feeder.join(TRAFFIC_S + 120)
        assert not feeder.is_alive()
    finally:
        stop.set()
        feeder.join(30)
    assert checks_during >= 1
    assert sent["count"] >= TRAFFIC_S * TRAFFIC_PER_S * 0.6, (
        "the publisher fell far behind its 5 reports a second"
    )

    wait_for(
        lambda: holds(platform, published),
        240,
        "the detector read every report",
        lambda: dump(services),
        services.values(),
    )
    checks = events(detect, "overdue check done")
    wait_for(
        lambda: events(detect, "overdue check done") >= checks + 1,
        120,
        "one more overdue check",
        lambda: dump(services),
        services.values(),
    )
    alerts = alerts_of(platform, mine)
    assert [(a.agency, a.year) for a in alerts if a.rule == "overdue_report"] == [(missing, last)], dump(
        services
    )
    assert not [a for a in alerts if a.agency != missing]
    assert events(detect, "overdue check done") >= 3, (
        "the check ran only once or twice in a minute of traffic"
    )


def test_two_detectors_and_two_deliverers_lose_nothing_and_duplicate_nothing_when_leaders_die(
    platform: Settings, publisher: Publisher, services: dict[str, Service], logs: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    last = last_year()
    agencies = [f"多实例局{run}-{i}" for i in range(10)]
    source = f"e2e-source-{run}"
    fast = {
        "OGI_DELIVER_BACKOFF_BASE_S": "0.2",
        "OGI_DELIVER_BACKOFF_MAX_S": "1",
        "OGI_DELIVER_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
    }  # the receiver runs here

    def leading(svc: Service) -> bool:
        return events(svc, "leadership acquired") > 0

    with http_receiver() as hook:
        args = ["subscribe", "add", "--name", f"multi-{run}", "--webhook", hook.url, "--agency", source]
        for agency in agencies:
            args += ["--agency", agency]
        ogi(platform, *args)

        for name in ("detect", "deliver"):
            first = services[f"{name}1"] = Service(name, platform, logs, **fast)
            wait_for(
                lambda first=first: leading(first),
                120,
                f"the first {name} leads",
                lambda: dump(services),
                services.values(),
            )
            second = services[f"{name}2"] = Service(name, platform, logs, **fast)
            wait_for(
                lambda second=second: events(second, "standing by: another instance leads") > 0,
                120,
                f"the second {name} stands by",
                lambda: dump(services),
                services.values(),
            )
        assert not leading(services["detect2"]) and not leading(services["deliver2"])

        def keys() -> set[str]:
            return {r.headers[IDEMPOTENCY_KEY] for r in list(hook.received)}

        # five agencies whose last report breaks its tables: five alerts, delivered
        def broken_pair(agency: str) -> list[ExtractedReport]:
            return [report(agency, last - 1), report(agency, last, broken=True)]

        publisher.send(*[r for a in agencies[:5] for r in broken_pair(a)])
        wait_for(
            lambda: len(keys()) >= 5,
            240,
            "the first five alerts delivered",
            lambda: dump(services),
            services.values(),
        )

        # more arrives, both leaders die with it in flight, and the rest arrives while they are dead
        publisher.send(*[r for a in agencies[5:8] for r in broken_pair(a)])
        services["detect1"].stop(signal.SIGKILL)
        services["deliver1"].stop(signal.SIGKILL)
        publisher.send(
            *[r for a in agencies[8:] for r in broken_pair(a)],
            report(agencies[0], last, version="-corrected"),  # balances: resolves agency 0's alert
            SourceStatus(agency_id=source, agency_name="多实例网站", failed_polls=3, last_error="HTTP 503"),
        )
        standbys = [services["detect2"], services["deliver2"]]
        wait_for(
            lambda: all(leading(s) for s in standbys),
            180,
            "the standbys take over",
            lambda: dump(services),
            standbys,
        )
        # 10 broken identities, agency 0's resolution, the source alert
        wait_for(
            lambda: len(keys()) >= 12,
            240,
            "every alert delivered by the new leaders",
            lambda: dump(services),
            standbys,
        )
        publisher.send(
            SourceStatus(
                agency_id=source,
                agency_name="多实例网站",
                failed_polls=0,
                last_success=datetime.now(UTC),
                reports_found=4,
                last_found_at=datetime.now(UTC),
            )
        )
        wait_for(
            lambda: len(keys()) >= 13,
            120,
            "the source's resolution delivered",
            lambda: dump(services),
            standbys,
        )
        received = list(hook.received)
    # the standbys did real work: what arrived after the kill was detected and delivered by them
    assert events(services["detect2"], "alert") >= 3 and events(services["deliver2"], "delivered") >= 3

    on_topic = alerts_of(platform, {*agencies, source})
    by_id: dict[str, list[Alert]] = {}
    for a in on_topic:
        by_id.setdefault(a.alert_id, []).append(a)
    summary = sorted(
        (
            a.agency or a.agency_id or "",
            a.rule,
            tuple(sorted({(x.revision, x.status.value) for x in by_id[a.alert_id]})),
        )
        for a in {x.alert_id: x for x in on_topic}.values()
    )
    expected = sorted(
        [(agencies[0], "broken_identity", ((1, "open"), (2, "resolved")))]
        + [(a, "broken_identity", ((1, "open"),)) for a in agencies[1:]]
        + [("多实例网站", "source_unhealthy", ((1, "open"), (2, "resolved")))]
    )
    assert summary == expected, dump(services)
    for copies in by_id.values():  # a replay after SIGKILL may resend a revision, never change it
        per_revision: dict[int, set[str]] = {}
        for a in copies:
            per_revision.setdefault(a.revision, set()).add(
                json.dumps(a.model_dump(mode="json", exclude={"updated_at", "resolved_at"}), sort_keys=True)
            )
        assert all(len(v) == 1 for v in per_revision.values())

    delivered = [r.headers[IDEMPOTENCY_KEY] for r in received]
    expected_keys = {f"{aid}:{a.revision}" for aid, copies in by_id.items() for a in copies}
    assert set(delivered) == expected_keys
    # at-least-once: the killed deliverer may have had one send in flight, repeated with the same key
    assert len(delivered) <= len(expected_keys) + 1, delivered
    resolved = [
        json.loads(r.body)["alert"] for r in received if json.loads(r.body)["alert"]["status"] == "resolved"
    ]
    assert sorted(a["rule"] for a in resolved) == ["broken_identity", "source_unhealthy"]
    assert all(
        a["status"] in {s.value for s in AlertStatus} for a in (json.loads(r.body)["alert"] for r in received)
    )
