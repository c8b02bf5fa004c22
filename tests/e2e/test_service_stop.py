"""Every service (``ogi serve extract|index|detect|deliver|monitor``) stops
within 10 s of SIGTERM also when Kafka or Elasticsearch does not answer,
and its last log line says what it abandoned; every line it logs is JSON
without terminal control sequences.

The session's servers are shared by every test, so none of them is stopped
here. An unreachable server is, instead: a closed loopback port from the
start; a throw-away broker of our own, killed while the services run on it;
a TCP proxy to the session's Elasticsearch, cut while the indexer holds a
batch.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaError

from ogi.broker import ensure_topics, make_admin, make_producer, publish
from ogi.local._process import free_port, pid_alive
from ogi.local.kafka import LocalKafka
from ogi.settings import Settings
from ogi.topics import EXTRACTED
from schemas import ExtractedReport, Template
from tests.support import Service, TcpProxy, wait_for

pytestmark = pytest.mark.e2e

STOP_WITHIN_S = 10.0
LAST_WORDS = ("stopped", "stop deadline passed, exiting without a clean shutdown")


def _registry(path: Path, site_port: int) -> Path:
    """One source on a closed loopback port: polls fail fast and touch no real site."""
    path.write_text(
        json.dumps(
            {
                "sources": [
                    {
                        "id": "stop-test",
                        "name": "测试市人民政府",
                        "region": "测试市",
                        "level": "city",
                        "urls": [f"http://127.0.0.1:{site_port}/zwgk/index.htm"],
                        "allow_private": True,
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def _monitor_env(tmp_path: Path) -> dict[str, str]:
    return {
        "OGI_INGEST_REGISTRY": str(_registry(tmp_path / "registry.yaml", free_port())),
        "OGI_INGEST_POLL_INTERVAL_S": "2",
        "OGI_INGEST_RETRIES": "0",
    }


def _events(svc: Service) -> list[dict[str, Any]]:
    """Every line of the service's log, each of which must be a JSON object
    without a control sequence."""
    lines = [line for line in svc.log().splitlines() if line.strip()]
    assert not [line for line in lines if "\x1b" in line], (
        f"{svc.name}: terminal control sequences in its log"
    )
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"{svc.name} logged a line that is not JSON: {line[:300]!r}") from None
    return events


def _sigterm_all(services: dict[str, Service]) -> dict[str, float]:
    """SIGTERM every service at once; seconds until each exited (inf: still
    running after 30 s, then killed)."""
    sent = {}
    for name, svc in services.items():
        assert svc.running(), f"{name} died before the test stopped it:\n{svc.log()[-3000:]}"
        sent[name] = time.monotonic()
        os.killpg(svc.proc.pid, signal.SIGTERM)
    took: dict[str, float] = {}
    give_up = time.monotonic() + 30
    while len(took) < len(services) and time.monotonic() < give_up:
        for name, svc in services.items():
            if name not in took and not svc.running():
                took[name] = time.monotonic() - sent[name]
        time.sleep(0.05)
    for svc in services.values():
        svc.stop(signal.SIGKILL)
    return {name: took.get(name, float("inf")) for name in services}


def _assert_stopped_in_time_saying_what_was_abandoned(
    services: dict[str, Service], took: dict[str, float]
) -> None:
    slow = {name: round(s, 1) for name, s in took.items() if s > STOP_WITHIN_S}
    assert not slow, f"stopped later than {STOP_WITHIN_S:.0f}s after SIGTERM: {slow}\n" + "\n".join(
        f"--- {n} ---\n{services[n].log()[-3000:]}" for n in slow
    )
    for name, svc in services.items():
        last = [e for e in _events(svc) if e.get("event") in LAST_WORDS]
        assert last and isinstance(last[-1].get("abandoned"), list), (
            f"{name}: no last word:\n{svc.log()[-3000:]}"
        )


def test_services_waiting_for_unreachable_servers_stop_within_10s(settings: Settings, tmp_path: Path) -> None:
    """Kafka and Elasticsearch on closed ports from the start: the plain
    services wait for them (the Faust workers exit on their own at once)."""
    kafka_port, es_port = free_port(), free_port()
    nowhere = Settings(
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        es_url=f"http://127.0.0.1:{es_port}",
        topic_prefix=settings.topic_prefix,
        index_prefix=settings.index_prefix,
    )
    services = {
        name: Service(name, nowhere, tmp_path, **(_monitor_env(tmp_path) if name == "monitor" else {}))
        for name in ("index", "deliver", "monitor")
    }
    # each is inside its wait: it has tried its server at least once
    wait_for(
        lambda: all(str(kafka_port) in s.log() or str(es_port) in s.log() for s in services.values()),
        120,
        "every service trying its server",
        lambda: "\n".join(s.log()[-1500:] for s in services.values()),
        services.values(),
    )
    took = _sigterm_all(services)
    _assert_stopped_in_time_saying_what_was_abandoned(services, took)
    for name, svc in services.items():
        last = [e for e in _events(svc) if e.get("event") == "stopped"][-1]
        assert any(a.startswith("waiting for ") for a in last["abandoned"]), (name, last)


@pytest.fixture
def doomed_kafka(settings: Settings, tmp_path: Path) -> Iterator[tuple[LocalKafka, Settings]]:
    """A broker of this test's own (the session's is shared), with the
    session's Elasticsearch and this session's prefixes plus a suffix."""
    broker = LocalKafka(settings, root=tmp_path / "doomed-kafka")
    port = free_port()
    broker.start(port, free_port())
    run = uuid.uuid4().hex[:6]
    on_it = Settings(
        kafka_bootstrap=f"127.0.0.1:{port}",
        es_url=settings.es_url,
        topic_prefix=f"{settings.topic_prefix}doomed{run}.",
        index_prefix=f"{settings.index_prefix}doomed{run}-",
    )
    ensure_topics(on_it)
    try:
        yield broker, on_it
    finally:
        broker.stop()


def _groups_stable(bootstrap: str, groups: list[str]) -> bool:
    admin = make_admin(bootstrap=bootstrap, timeout_s=0, request_timeout_ms=10000)
    try:
        described = admin.describe_consumer_groups(groups)
    except (KafkaError, ValueError):  # the coordinator not elected yet; kafka-python's
        return False  # ValueError on an authorized-operations value it cannot map: not stable yet
    finally:
        admin.close()
    return all(g.state == "Stable" and g.members for g in described)


def test_every_service_stops_within_10s_once_kafka_is_gone(
    doomed_kafka: tuple[LocalKafka, Settings], tmp_path: Path
) -> None:
    broker, on_it = doomed_kafka
    services = {
        name: Service(name, on_it, tmp_path, **(_monitor_env(tmp_path) if name == "monitor" else {}))
        for name in ("extract", "index", "detect", "deliver", "monitor")
    }
    prefix = on_it.topic_prefix
    groups = [f"{prefix}extract", f"{prefix}index", f"{prefix}detect", f"{prefix}deliver"]

    def all_running() -> bool:
        polled = any(e.get("event") == "poll done" for e in _events(services["monitor"]))
        return polled and _groups_stable(on_it.kafka_bootstrap, groups)

    wait_for(
        all_running,
        300,
        "every service consuming (groups stable, a poll done)",
        lambda: "\n".join(f"--- {n} ---\n{s.log()[-1500:]}" for n, s in services.items()),
        services.values(),
    )

    pid = broker.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # a broker that is gone, not one that says goodbye
    wait_for(lambda: not pid_alive(pid), 30, "the broker gone")
    time.sleep(3)  # let the clients run into the dead broker (the assertions hold either way)

    took = _sigterm_all(services)
    _assert_stopped_in_time_saying_what_was_abandoned(services, took)


def test_indexer_holding_a_batch_stops_within_10s_once_elasticsearch_is_gone(
    platform: Settings, tmp_path: Path
) -> None:
    es_host, _, es_port = platform.es_url.removeprefix("http://").rpartition(":")
    proxy = TcpProxy(es_host, int(es_port))
    try:
        group = f"{platform.topic_prefix}index-stop-{uuid.uuid4().hex[:6]}"
        indexer = Service(
            "index", platform, tmp_path, OGI_ES_URL=f"http://{proxy.address}", OGI_INDEX_GROUP=group
        )
        wait_for(
            lambda: _groups_stable(platform.kafka_bootstrap, [group]),
            180,
            "the indexer consuming",
            indexer.log,
            [indexer],
        )
        proxy.cut()
        report = ExtractedReport(
            report_id=f"stop-test-{uuid.uuid4().hex}",
            agency="测试局",
            year=2022,
            template=Template.GB2021,
            metrics={"applications.granted": 3},
        )
        producer = make_producer(platform)
        publish(producer, EXTRACTED, report, platform).get(timeout=60)
        producer.close()
        wait_for(
            lambda: any(
                e.get("event") == "elasticsearch unavailable, retrying batch" for e in _events(indexer)
            ),
            120,
            "the indexer retrying its batch",
            indexer.log,
            [indexer],
        )
        took = _sigterm_all({"index": indexer})
    finally:
        proxy.cut()
    _assert_stopped_in_time_saying_what_was_abandoned({"index": indexer}, took)
    last = [e for e in _events(indexer) if e.get("event") in LAST_WORDS][-1]
    assert any("polled records" in a for a in last["abandoned"]), last
