"""Alerts end to end on the real servers, every stage its own process:

    gb2021 report files -> raw topic -> extract worker -> reports.extracted
        -> detector (Faust) -> alerts -> indexer -> Elasticsearch
                                      \\-> deliverer -> webhook receiver on 127.0.0.1

Two departments of one district report for five years, the last one being
the latest year whose deadline has passed. Agency A refuses most of its
requests in one year (refusal spike) and publishes, in its last year,
tables that do not add up (broken identity); B is steady. A third
department, in another district, stops one year short: overdue. The
detector is killed with SIGKILL right after its first alert, while half the
reports are still to come, and restarted after the rest (plus a duplicate
document) arrived. Checked: the spike and the broken identity are one alert
each, revision 1, searchable in Elasticsearch (and via ``ogi alerts``); the
overdue report is one alert from the detector's timer; the set of alerts
equals what the detector computes in memory from the same extracted reports
(nothing lost, nothing extra); the webhook got each subscribed alert
exactly once with a valid signature, although another subscriber's
endpoint is down.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition

from ogi.broker import make_admin, make_reader
from ogi.elastic import index_name
from ogi.settings import Settings
from ogi.topics import ALERTS, DELIVERIES, EXTRACTED
from schemas import Alert, ExtractedReport
from schemas.events import AgencyHistory, Delivery, DeliveryStatus
from services.alerts.delivery.webhook import IDEMPOTENCY_KEY, SIGNATURE, TIMESTAMP, verify
from services.alerts.detector import Detector, alert_id, replay, update_history
from services.alerts.rules import load_rules
from services.ingest.files import publish_files
from tests.gb2021_samples import consistent, render_gb2021
from tests.support import REPO, Service, read_topic, service_env, wait_for
from tests.unit.alerts.receivers import http_receiver

pytestmark = pytest.mark.e2e

AGENCY_A = "丙市丁区住房和城乡建设局"
AGENCY_B = "丙市丁区卫生健康委员会"
AGENCY_C = "戊市己区文化广电旅游体育局"  # another district: not a peer of A
AGENCIES = (AGENCY_A, AGENCY_B, AGENCY_C)
SECRET = "e2e-webhook-secret"


def last_due_year(today: date) -> int:
    """Latest reporting year whose department deadline (31 January) has passed."""
    return today.year - 1 if today > date(today.year, 1, 31) else today.year - 2


def write_reports(
    directory: Path, years: list[int]
) -> tuple[dict[tuple[str, int], Path], dict[tuple[str, int], dict[str, float]]]:
    """Agency A: steady ~5 % refusals, about 60 % in years[2], broken tables in
    years[4]. Agency B: steady throughout. Agency C: steady, no report for
    years[4]. Returns the files and their figures."""
    files: dict[tuple[str, int], Path] = {}
    stated: dict[tuple[str, int], dict[str, float]] = {}
    for agency in AGENCIES:
        for i, year in enumerate(years):
            if agency == AGENCY_C and i == 4:
                continue
            spike = agency == AGENCY_A and i == 2
            refused = 45 if spike else 3 + i % 2
            figures = consistent(
                90,
                granted=(90 - refused - 12) // 2 + 1,
                partially_granted=5,
                refused={"third_party_rights": refused // 3, "process_information": refused - refused // 3},
                unable={"not_held": 4},
                other={"other": 3},
                review=(1, i % 2, 0, 0),
                litigation_direct=(1, 0, 0, 0),
            )
            if agency == AGENCY_A and i == 4:
                figures["applications.total_handled"] += 6  # the 总计 row no longer adds up
            path = directory / f"{'ABC'[AGENCIES.index(agency)]}-{year}.txt"
            path.write_text(render_gb2021(agency, year, figures), encoding="utf-8")
            files[(agency, year)] = path
            stated[(agency, year)] = figures
    return files, stated


def _history(reports: list[ExtractedReport], agency: str, now: datetime) -> AgencyHistory:
    history = None
    for r in reports:
        if r.agency == agency:
            history = update_history(history, r, now)
    assert history is not None
    return history


def ogi(settings: Settings, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "ogi.cli", *args],
        env=service_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def group_caught_up(settings: Settings, group: str, spec=EXTRACTED) -> bool:  # type: ignore[no-untyped-def]
    admin = make_admin(settings)
    consumer = make_reader(settings)
    try:
        committed = admin.list_consumer_group_offsets(group)
        name = spec.name(settings)
        tps = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or []]
        ends = consumer.end_offsets(tps)
        return all((committed.get(tp).offset if committed.get(tp) else 0) >= ends[tp] for tp in tps)
    finally:
        admin.close()
        consumer.close()


def my_alerts(settings: Settings) -> list[Alert]:
    return [a for a in read_topic(ALERTS, settings, Alert) if a.agency in AGENCIES]


def es_alerts(es, settings: Settings) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    index = index_name("alerts", settings)
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"terms": {"agency": list(AGENCIES)}}, size=100)["hits"]["hits"]
    return [h["_source"] | {"_id": h["_id"]} for h in hits]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("alerts-e2e-logs")


@pytest.fixture(scope="module")
def running(platform: Settings, logs: Path) -> Iterator[dict[str, Service]]:
    services = {name: Service(name, platform, logs) for name in ("extract", "index")}
    services["deliver"] = Service(
        "deliver",
        platform,
        logs,
        OGI_DELIVER_BACKOFF_BASE_S="0.2",
        OGI_DELIVER_BACKOFF_MAX_S="1",
        OGI_DELIVER_MAX_ATTEMPTS="5",
        OGI_DELIVER_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
    )  # the receivers run here
    yield services
    for svc in services.values():
        svc.stop()


def test_refusal_spike_and_broken_identity_end_to_end_with_detector_crash(
    platform: Settings,
    running: dict[str, Service],
    logs: Path,
    es,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    china_today = (datetime.now(UTC) + timedelta(hours=8)).date()
    last = last_due_year(china_today)
    years = list(range(last - 4, last + 1))
    files, stated = write_reports(tmp_path, years)
    services = running  # the fixture stops what is in it, the restarted detector included

    def dump() -> str:
        return "\n".join(f"--- {n} ---\n{s.log()[-4000:]}" for n, s in services.items())

    with http_receiver() as hook, http_receiver(statuses=[503] * 1000) as down:
        # subscriptions through the CLI: ours, and one whose endpoint is down
        added = ogi(
            platform,
            "subscribe",
            "add",
            "--name",
            "e2e",
            "--webhook",
            hook.url,
            "--secret",
            SECRET,
            "--rule",
            "refusal_spike",
            "--rule",
            "broken_identity",
            "--min-severity",
            "warning",
            "--region",
            "丙市",
            "--agency",
            AGENCY_A,
            "--agency",
            AGENCY_B,
        )
        sub = json.loads(added[: added.rindex("}") + 1])
        ogi(platform, "subscribe", "add", "--name", "down", "--webhook", down.url, "--agency", AGENCY_A)
        listed = ogi(platform, "subscribe", "list", "--json")
        assert sub["subscription_id"] in listed and SECRET not in listed  # secrets are masked

        # first half of the stream, then the detector; kill it at its first alert
        # (the overdue timer first fires after its hour-long interval: it cannot see the half stream)
        first = [files[(a, y)] for y in years[:3] for a in AGENCIES]
        publish_files(first, settings=platform)
        services["detect"] = Service("detect", platform, logs)
        wait_for(lambda: my_alerts(platform), 240, "the detector's first alert", dump, services.values())
        services.pop("detect").stop(signal.SIGKILL)
        alerts_at_kill = len(my_alerts(platform))

        # the rest arrives while the detector is down, with a duplicate of the spike report
        second = [files[(a, y)] for y in years[3:] for a in AGENCIES if (a, y) in files]
        second.append(files[(AGENCY_A, years[2])])
        publish_files(second, settings=platform)
        total = len(first) + len(second)
        wait_for(
            lambda: (
                len([r for r in read_topic(EXTRACTED, platform, ExtractedReport) if r.agency in AGENCIES])
                >= total
            ),
            240,
            f"all {total} documents extracted",
            dump,
            services.values(),
        )
        # restarted with a short timer interval, so the overdue check runs on the complete stream
        services["detect"] = Service("detect", platform, logs, OGI_DETECT_OVERDUE_INTERVAL_S="2")

        def settled() -> bool:
            got = {(a["agency"], a["rule"]) for a in es_alerts(es, platform)}
            return (
                {(AGENCY_A, "refusal_spike"), (AGENCY_A, "broken_identity"), (AGENCY_C, "overdue_report")}
                <= got
                and group_caught_up(platform, f"{platform.topic_prefix}detect")
                and len({r.headers[IDEMPOTENCY_KEY] for r in hook.received}) >= 2
            )

        wait_for(
            settled, 240, "both alerts indexed and delivered, detector caught up", dump, services.values()
        )
        time.sleep(6)  # room for a duplicate or a late overdue alert to show up, if one would
        received = list(hook.received)
        down_attempts = len(down.received)
    # the detector this test restarted is its own to stop (the fixture stops the services it started)
    services["detect"].stop()

    # --- Elasticsearch: exactly one alert per finding, revision 1, searchable
    indexed = es_alerts(es, platform)
    spikes = [a for a in indexed if a["rule"] == "refusal_spike"]
    broken = [a for a in indexed if a["rule"] == "broken_identity"]
    assert [(a["agency"], a["year"], a["revision"]) for a in spikes] == [(AGENCY_A, years[2], 1)], dump()
    assert [(a["agency"], a["year"], a["revision"]) for a in broken] == [(AGENCY_A, years[4], 1)], dump()
    spike_figures = stated[(AGENCY_A, years[2])]
    assert spikes[0]["figures"]["refused"] == spike_figures["applications.refused.total"] == 45
    assert spikes[0]["figures"]["handled"] == spike_figures["applications.total_handled"]
    assert broken[0]["figures"]["check.intake_balance"] == 0.0
    assert spikes[0]["report_url"] and spikes[0]["report_url"].startswith("file://")
    assert not [a for a in indexed if a["agency"] == AGENCY_B], "the steady agency raised an alert"
    overdue = [a for a in indexed if a["rule"] == "overdue_report"]
    assert [(a["agency"], a["year"], a["revision"]) for a in overdue] == [(AGENCY_C, years[4], 1)], dump()
    assert not [a for a in indexed if a["agency"] == AGENCY_C and a["rule"] != "overdue_report"]
    cli = [
        json.loads(line)
        for line in ogi(
            platform, "alerts", "--agency", AGENCY_A, "--rule", "refusal_spike", "--json"
        ).splitlines()
    ]
    assert [a["alert_id"] for a in cli] == [spikes[0]["alert_id"]]

    # --- the alerts topic: nothing lost, nothing extra, no finding re-revised
    on_topic = my_alerts(platform)
    extracted = [r for r in read_topic(EXTRACTED, platform, ExtractedReport) if r.agency in AGENCIES]
    detector = Detector(load_rules(platform))
    now = datetime.now(UTC)
    expected = {a.alert_id for a in replay(detector, extracted, now)}
    histories = {h.agency_key: h for h in (_history(extracted, agency, now) for agency in AGENCIES)}
    expected |= {alert_id(f, h) for h in histories.values() for f in detector.scheduled(h, now)}
    assert {a.alert_id for a in on_topic} == expected, dump()
    assert {a["_id"] for a in indexed} == expected
    assert {a.revision for a in on_topic} == {1}, "an unchanged finding was re-emitted as a new revision"
    assert {a.status.value for a in on_topic} == {"open"}
    for aid in {a.alert_id for a in on_topic}:
        copies = [a for a in on_topic if a.alert_id == aid]
        # a replay after SIGKILL may resend the very same alert; never a different one
        assert len({(a.title, json.dumps(a.figures, sort_keys=True)) for a in copies}) == 1
    assert alerts_at_kill < len({a.alert_id for a in on_topic}), "the kill was not mid-stream"

    # --- the webhook: each alert once, signed
    keys = [r.headers[IDEMPOTENCY_KEY] for r in received]
    assert sorted(keys) == sorted({f"{spikes[0]['alert_id']}:1", f"{broken[0]['alert_id']}:1"}), keys
    for r in received:
        assert verify(SECRET, r.body, r.headers[TIMESTAMP], r.headers[SIGNATURE])
        body = json.loads(r.body)
        assert body["subscription_id"] == sub["subscription_id"]
        assert body["alert"]["rule"] in ("refusal_spike", "broken_identity")
    assert down_attempts >= 2, "the failing subscriber was not retried"

    # --- delivery state on its compacted topic
    deliveries = [Delivery.model_validate_json(r.value) for r in read_topic(DELIVERIES, platform) if r.value]
    done = {
        d.idempotency_key
        for d in deliveries
        if d.subscription_id == sub["subscription_id"] and d.status == DeliveryStatus.DELIVERED
    }
    assert done == set(keys)
