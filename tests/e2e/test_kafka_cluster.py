"""A replicated Kafka loses a broker: reports stream through a three-node
KRaft cluster (topics replicated 3 times, min.insync.replicas 2) into the
extract worker and the indexer while the broker leading the raw topic's
first partition is SIGKILLed and, a while later, started again.

Checked: every report published is indexed (0 lost), no report twice
(0 duplicates), and indexing never stalls for longer than 30 s.

CI streams OGI_TEST_CLUSTER_REPORTS=100 (default) reports at 2/s; ``make test-cluster``
streams 2,000. The figures are printed (pytest -s) for the README.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ogi.broker import ensure_topics, make_producer, publish
from ogi.elastic import index_name, install_templates, wait_for_store
from ogi.local._process import free_port
from ogi.local.kafka import LocalKafkaCluster
from ogi.settings import Settings
from ogi.topics import RAW
from schemas import RawReport
from tests.support import Service

pytestmark = pytest.mark.e2e

REPORTS = int(os.environ.get("OGI_TEST_CLUSTER_REPORTS", "100"))
#: reports published per second: a steady stream, so a stall shows as a gap
RATE = float(os.environ.get("OGI_TEST_CLUSTER_RATE", "2"))
BROKER_DOWN_S = 20.0
#: when the killed broker coordinated the extract worker's consumer group, the worker
#: rejoins and the new coordinator waits out the group's rebalance timeout for the
#: member it knew (measured: a 70.7 s gap in a CI run): work is delayed by that, and
#: by no more than 30 s beyond it
STALL_MARGIN_S = 30.0


def _rebalance_timeout_s(settings: Settings) -> float:
    """How long the extract worker's consumer group may wait for a member it
    knew: the longer of its session and rebalance timeouts, as its Faust app
    is configured (``ogi.streams.make_app``)."""
    from ogi.streams import make_app

    conf = make_app(settings.faust_app_id, settings).conf
    return float(max(conf.broker_session_timeout, conf.broker_rebalance_timeout))


def small_report(i: int) -> bytes:
    """A short report of four figures, distinct per ``i`` (its own id)."""
    return (
        f"测试县第{i}号局2023年政府信息公开工作年度报告\n\n一、总体情况\n"
        f"2023年，本局主动公开政府信息{100 + i}条，收到政府信息公开申请{i % 50 + 1}件。\n"
        "因政府信息公开工作被申请行政复议1件，被提起行政诉讼0件。\n"
    ).encode()


@pytest.fixture(scope="module")
def cluster(servers: object, settings: Settings) -> Iterator[tuple[LocalKafkaCluster, Settings]]:
    root = settings.home / "run" / f"test-cluster-{uuid.uuid4().hex[:8]}"
    kafka = LocalKafkaCluster(settings, brokers=3, root=root)
    ports = [free_port() for _ in kafka.port_names]
    try:
        kafka.start(*ports)
        bootstrap = ",".join(f"127.0.0.1:{p}" for p in ports[0::2])
        # indices of its own: the session's already hold other tests' reports
        run = uuid.uuid4().hex[:6]
        yield (
            kafka,
            settings.model_copy(
                update={"kafka_bootstrap": bootstrap, "index_prefix": f"{settings.index_prefix}cluster{run}-"}
            ),
        )
    finally:
        kafka.stop()
        shutil.rmtree(root, ignore_errors=True)


def _leader_of_first_raw_partition(settings: Settings) -> int:
    from kafka import KafkaAdminClient

    from ogi.broker import kafka_client

    admin = kafka_client(KafkaAdminClient, settings, request_timeout_ms=10000)
    try:
        (topic,) = admin.describe_topics([RAW.name(settings)])
        return int(next(p["leader"] for p in topic["partitions"] if p["partition"] == 0))
    finally:
        admin.close()


def _topic_durability(settings: Settings) -> tuple[int, str]:
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    from ogi.broker import kafka_client

    admin = kafka_client(KafkaAdminClient, settings, request_timeout_ms=10000)
    try:
        (topic,) = admin.describe_topics([RAW.name(settings)])
        replicas = len(topic["partitions"][0]["replicas"])
        resource = ConfigResource(ConfigResourceType.TOPIC, RAW.name(settings))
        entries = admin.describe_configs([resource])[0].resources[0][4]
        min_isr = next(e[1] for e in entries if e[0] == "min.insync.replicas")
        return replicas, min_isr
    finally:
        admin.close()


@dataclass
class Stream:
    """Publishes ``REPORTS`` reports at ``RATE`` per second in a thread."""

    settings: Settings
    ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    published: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        producer = make_producer(self.settings)
        futures = []
        start = time.monotonic()
        try:
            for i in range(REPORTS):
                raw = RawReport.from_bytes(
                    small_report(i),
                    agency_id="cluster-test",
                    filename=f"r{i}.txt",
                    source_url=f"file:///cluster-test/r{i}.txt",
                    content_type="text/plain",
                )
                self.ids.append(raw.report_id)
                futures.append(publish(producer, RAW, raw, self.settings))
                self.published = i + 1
                time.sleep(max(0.0, start + (i + 1) / RATE - time.monotonic()))
            for f in futures:
                try:
                    f.get(timeout=300)
                except Exception as exc:
                    self.errors.append(repr(exc))
        finally:
            producer.close()
            self.done.set()


def _unusual(log: str) -> str:
    """A service log without its one-line-per-record progress events."""
    routine = ('"event": "extracted"', '"event": "indexed"')
    return "\n".join(line[:400] for line in log.splitlines() if not any(r in line for r in routine))[-6000:]


def _indexed(es, index: str) -> int:  # type: ignore[no-untyped-def]
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def test_broker_killed_and_restarted_loses_nothing(cluster, es) -> None:  # type: ignore[no-untyped-def]
    kafka, settings = cluster
    ensure_topics(settings)
    wait_for_store(es)
    install_templates(es, settings)
    assert _topic_durability(settings) == (3, "2")

    # logs kept under OGI_HOME (pytest's tmp dirs rotate away under parallel runs); removed on success
    logs = settings.home / "run" / f"cluster-test-logs-{uuid.uuid4().hex[:8]}"
    logs.mkdir(parents=True)
    services = {name: Service(name, settings, logs) for name in ("extract", "index")}
    stream = Stream(settings)
    publisher = threading.Thread(target=stream.run, daemon=True)
    index = index_name("reports", settings)
    # generous: only a failure waits for it (extraction on a shared 2-core box can drop below 1/s)
    deadline = time.monotonic() + REPORTS / RATE + 480
    killed_at = restarted_at = None
    victim = 0
    restarter = threading.Thread()
    count, last_count, last_change, first_doc, max_gap = 0, 0, time.monotonic(), None, 0.0
    started = time.monotonic()
    publisher.start()
    try:
        while count < REPORTS or restarted_at is None:
            if time.monotonic() > deadline:
                timeline = (
                    f"published {stream.published}, killed broker {victim} at "
                    f"{(killed_at or started) - started:.0f}s, restart begun at {(restarted_at or started) - started:.0f}s, "
                    f"last increase at {last_change - started:.0f}s"
                )
                raise AssertionError(
                    f"only {count} of {REPORTS} reports indexed; {timeline}; logs in {logs}\n"
                    + "\n".join(f"--- {n} ---\n{_unusual(s.log())}" for n, s in services.items())
                )
            dead = [n for n, s in services.items() if not s.running()]
            assert not dead, f"{dead} died:\n" + "\n".join(services[n].log()[-3000:] for n in dead)
            if killed_at is None and stream.published >= REPORTS // 3:
                victim = _leader_of_first_raw_partition(settings)
                kafka.kill(victim)
                killed_at = time.monotonic()
            if killed_at and restarted_at is None and time.monotonic() - killed_at > BROKER_DOWN_S:
                # in the background: the count keeps being watched while the broker starts
                restarter = threading.Thread(target=kafka.restart, args=(victim,), daemon=True)
                restarter.start()
                restarted_at = time.monotonic()
            now = time.monotonic()
            count = _indexed(es, index)
            if count != last_count:
                if first_doc is None:
                    first_doc = now
                else:
                    max_gap = max(max_gap, now - last_change)
                last_count, last_change = count, now
            elif first_doc is not None:
                max_gap = max(max_gap, now - last_change)
            time.sleep(0.5)
        stream.done.wait(300)
        restarter.join(300)
        assert len(LocalKafkaCluster.brokers(settings.kafka_bootstrap, settings)) == 3, (
            "the killed broker did not rejoin"
        )
    finally:
        for svc in services.values():
            svc.stop()
    finished = time.monotonic()

    ids = set(stream.ids)
    assert len(ids) == REPORTS
    assert stream.errors == []
    es.indices.refresh(index=index)
    found = {
        h["_id"]
        for h in es.search(index=index, query={"match_all": {}}, size=REPORTS + 100, _source=False)["hits"][
            "hits"
        ]
    }
    duplicates = es.search(
        index=index, size=0, aggs={"twice": {"terms": {"field": "report_id", "min_doc_count": 2, "size": 10}}}
    )
    twice = duplicates["aggregations"]["twice"]["buckets"]
    print(
        f"\ncluster test: {REPORTS} reports at {RATE:g}/s; broker {victim} SIGKILLed after "
        f"{killed_at - started:.0f}s, down {restarted_at - killed_at:.0f}s; all indexed after "
        f"{finished - started:.0f}s; lost {len(ids - found)}, duplicates {len(twice)}, "
        f"longest indexing gap {max_gap:.1f}s"
    )
    assert ids - found == set(), f"{len(ids - found)} reports lost"
    assert found == ids
    assert twice == []
    assert max_gap <= _rebalance_timeout_s(settings) + STALL_MARGIN_S
    assert killed_at is not None and restarted_at is not None
    shutil.rmtree(logs, ignore_errors=True)
