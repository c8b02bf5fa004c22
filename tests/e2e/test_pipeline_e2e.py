"""The first end-to-end path on the real servers: report files -> raw topic
(kafka-python) -> Faust extract worker -> indexer -> Elasticsearch.

Checks the indexed values, that sending everything again changes no
document count, that a malformed file lands in the dead-letter topic with
its reason while the next good file is still indexed, and that an
Elasticsearch or Kafka restart delays indexing without losing anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ogi import local
from ogi.broker import make_producer
from ogi.elastic import index_name
from ogi.local.elasticsearch import LocalElasticsearch
from ogi.local.kafka import LocalKafka
from ogi.settings import Settings
from ogi.topics import DEADLETTER, EXTRACTED, RAW
from schemas import DeadLetter, ExtractedReport
from services.extract.engine import extract
from services.ingest.files import publish_files
from tests.support import REPO, Service, read_topic, wait_for

pytestmark = pytest.mark.e2e

SAMPLES = REPO / "data" / "samples"
SEEDS = sorted(SAMPLES.glob("*.txt"))


@pytest.fixture(scope="module")
def services(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    logs = tmp_path_factory.mktemp("service-logs")
    running = {name: Service(name, platform, logs) for name in ("extract", "index")}
    yield running
    for svc in running.values():
        svc.stop()


def _logs(services: dict[str, Service]) -> str:
    return "\n".join(f"--- {n} ---\n{s.log()[-3000:]}" for n, s in services.items())


def _count(es, index: str, query: dict | None = None) -> int:  # type: ignore[no-untyped-def]
    es.indices.refresh(index=index)
    return int(es.count(index=index, query=query or {"match_all": {}})["count"])


def _wait_reports(
    es, settings: Settings, ids: list[str], services: dict[str, Service], timeout: float = 240
) -> None:  # type: ignore[no-untyped-def]
    index = index_name("reports", settings)
    wait_for(
        lambda: _count(es, index, {"ids": {"values": ids}}) == len(ids),
        timeout,
        f"{len(ids)} reports indexed",
        lambda: _logs(services),
        services.values(),
    )


def _metric(es, settings: Settings, agency: str, year: int, metric: str, applicant: str = "total"):  # type: ignore[no-untyped-def]
    index = index_name("metrics", settings)
    es.indices.refresh(index=index)
    hits = es.search(
        index=index,
        query={
            "bool": {
                "filter": [
                    {"term": {"agency": agency}},
                    {"term": {"year": year}},
                    {"term": {"metric": metric}},
                    {"term": {"applicant": applicant}},
                ]
            }
        },
    )["hits"]["hits"]
    return [h["_source"]["value"] for h in hits]


def test_seeds_reach_elasticsearch_with_their_values(
    platform: Settings, services: dict[str, Service], es
) -> None:  # type: ignore[no-untyped-def]
    published = publish_files(SEEDS, settings=platform)
    _wait_reports(es, platform, [r.report_id for r in published], services)

    # the example: seed 004 handled 28 applications
    truth = json.loads((SAMPLES / "truth.json").read_text())["reports"]
    t004 = truth[SEEDS[4].name]
    assert _metric(es, platform, t004["agency"], t004["year"], "applications.total_handled") == [28.0]

    # every figure the extractor reads arrives in Elasticsearch unchanged
    metrics_index = index_name("metrics", platform)
    for path in SEEDS:
        local_report = extract(path.read_bytes(), filename=path.name)
        for key, value in local_report.metrics.items():
            got = _metric(es, platform, local_report.agency, local_report.year, key)
            assert got == [pytest.approx(value)], f"{path.name} {key}: {got} != {value}"
        for key, cols in local_report.breakdown.items():
            for col, value in cols.items():
                assert _metric(es, platform, local_report.agency, local_report.year, key, col) == [
                    pytest.approx(value)
                ], f"{path.name} {key}[{col}]"
    reports_index = index_name("reports", platform)
    doc = es.get(index=reports_index, id=published[4].report_id)["_source"]
    assert doc["template"] == t004["template"] and doc["year"] == t004["year"]
    assert doc["source_url"].startswith("file://") and doc["content_sha256"] == published[4].sha256

    # sending everything again changes no document count
    before = {i: _count(es, i) for i in (reports_index, metrics_index)}
    extracted_before = len(read_topic(EXTRACTED, platform))
    again = publish_files(SEEDS, settings=platform)
    assert [r.report_id for r in again] == [r.report_id for r in published]
    wait_for(
        lambda: len(read_topic(EXTRACTED, platform)) >= extracted_before + len(SEEDS),
        240,
        "the resent seeds extracted again",
        lambda: _logs(services),
        services.values(),
    )
    # the indexer consumes in order per partition; one more sentinel proves it caught up
    sentinel = publish_files([SEEDS[4]], settings=platform)
    wait_for(
        lambda: len(read_topic(EXTRACTED, platform)) >= extracted_before + len(SEEDS) + 1,
        240,
        "the sentinel extracted",
        lambda: _logs(services),
        services.values(),
    )
    _wait_reports(es, platform, [sentinel[0].report_id], services)
    time.sleep(5)  # give the indexer time to (wrongly) add documents, if it would
    assert {i: _count(es, i) for i in (reports_index, metrics_index)} == before


def test_malformed_file_goes_to_dead_letter_and_the_next_good_one_is_indexed(
    platform: Settings,
    services: dict[str, Service],
    es,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n" + bytes(range(256)) * 40
    )
    good = tmp_path / "good.txt"
    good.write_bytes(SEEDS[0].read_bytes().replace(b"2017", b"2016", 1) + b"\n")
    published = publish_files([broken, good], agency_id="dl-test", settings=platform)
    _wait_reports(es, platform, [published[1].report_id], services)

    def letter() -> DeadLetter | None:
        for d in read_topic(DEADLETTER, platform, DeadLetter):
            if (
                d.stage.value == "extract"
                and d.original
                and published[0].sha256 in d.original.decode("latin-1")
            ):
                return d
        return None

    found = wait_for(
        letter, 120, "the broken PDF on the dead-letter topic", lambda: _logs(services), services.values()
    )
    assert found.error_class and found.error, found
    assert found.source_topic == RAW.name(platform) and found.offset is not None

    # a record that is not a raw report at all is refused the same way
    producer = make_producer(platform)
    producer.send(RAW.name(platform), value=b"\x00not json at all", key=b"garbage").get(timeout=60)
    producer.close()
    garbage = wait_for(
        lambda: [
            d for d in read_topic(DEADLETTER, platform, DeadLetter) if d.original == b"\x00not json at all"
        ],
        120,
        "the garbage record dead-lettered",
        lambda: _logs(services),
        services.values(),
    )
    assert garbage[0].error_class == "RejectedRecord" and "raw report" in garbage[0].error
    # the dead letter is indexed too, for an operator's view
    dl_index = index_name("deadletters", platform)
    wait_for(
        lambda: _count(es, dl_index, {"term": {"error_class": found.error_class}}) >= 1,
        120,
        "the dead letter indexed",
        lambda: _logs(services),
        services.values(),
    )


def test_a_record_larger_than_the_workers_fetch_size_is_extracted(
    platform: Settings, services: dict[str, Service], es, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The extract worker fetches at most ``FETCH_BYTES`` a partition per
    request (its memory); a raw record larger than that still arrives whole."""
    from services.extract.app import FETCH_BYTES

    seed = SEEDS[2].read_bytes()
    big = tmp_path / "big.txt"
    # a line of spaces: the record is large, the report the seed's (read in ~0.1 s)
    big.write_bytes(seed + b"\n" + b" " * (2 * FETCH_BYTES) + b"\n")
    (published,) = publish_files([big], agency_id="big-test", settings=platform)
    assert len(published.model_dump_json()) > 2 * FETCH_BYTES
    _wait_reports(es, platform, [published.report_id], services)
    doc = es.get(index=index_name("reports", platform), id=published.report_id)["_source"]
    seed_report = extract(seed, filename=SEEDS[2].name)
    assert (doc["agency"], doc["year"]) == (seed_report.agency, seed_report.year)


def test_elasticsearch_restart_delays_but_loses_nothing(
    platform: Settings, services: dict[str, Service], es, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    server = LocalElasticsearch(platform)
    assert server.stop(), "the session's Elasticsearch was not running"
    try:
        doc = tmp_path / "during-es-outage.txt"
        doc.write_bytes(SEEDS[2].read_bytes() + "\n（补充）".encode())
        published = publish_files([doc], settings=platform)
        # the extract worker goes on while Elasticsearch is down
        wait_for(
            lambda: any(
                r.report_id == published[0].report_id
                for r in read_topic(EXTRACTED, platform, ExtractedReport)
            ),
            180,
            "extraction during the outage",
            lambda: _logs(services),
            services.values(),
        )
    finally:
        local.up(platform)
    _wait_reports(es, platform, [published[0].report_id], services, timeout=300)


def test_kafka_restart_delays_but_loses_nothing(
    platform: Settings, services: dict[str, Service], es, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    broker = LocalKafka(platform)
    assert broker.stop(), "the session's Kafka was not running"
    local.up(platform)
    doc = tmp_path / "after-kafka-restart.txt"
    doc.write_bytes(SEEDS[1].read_bytes() + "\n（补充）".encode())
    published = publish_files([doc], settings=platform)
    _wait_reports(es, platform, [published[0].report_id], services, timeout=300)
    assert services["extract"].proc.poll() is None and services["index"].proc.poll() is None
