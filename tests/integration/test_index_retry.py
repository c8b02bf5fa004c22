"""The indexer when the real Elasticsearch refuses single documents with
429 (issue 8 #4): they are retried, never dead-lettered, and no offset is
committed before they are written; only a document the mapping refuses is
dead-lettered, as itself, with its reason.

How the real server is made to answer 429 per document: with the block
Elasticsearch itself puts on an index when a disk passes the flood-stage
watermark, ``index.blocks.read_only_allow_delete``, set here by hand on one
index. Every document of a bulk request bound for that index then comes back
with status 429 (``cluster_block_exception``, TOO_MANY_REQUESTS/12) while
documents for other indices in the same request are written. That is a real
per-item 429 from the real server, so no proxy rewriting statuses is needed.
Lifting the block is what freeing the disk does.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import structlog
from kafka import KafkaConsumer, TopicPartition

from ogi.broker import ensure_topics, make_producer, make_reader, publish
from ogi.elastic import index_name, install_templates
from ogi.settings import Settings
from ogi.topics import DEADLETTER, METRICS
from schemas import DeadLetter, ExtractedReport, Template
from services.extract.events import to_metric_events
from services.index.errors import StoreUnavailable
from services.index.indexer import Indexer
from services.index.store import Action, bulk_write
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration


def _block(es: Any, index: str, on: bool) -> None:
    es.indices.put_settings(
        index=index, settings={"index.blocks.read_only_allow_delete": True if on else None}
    )


def _count(es: Any, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


@pytest.fixture
def two_indices(platform: Settings, es):  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:8]
    names = (f"{platform.index_prefix}retry-ok-{run}", f"{platform.index_prefix}retry-blocked-{run}")
    for name in names:
        es.indices.create(
            index=name, mappings={"dynamic": "strict", "properties": {"value": {"type": "double"}}}
        )
    yield names
    _block(es, names[1], False)
    es.indices.delete(index=",".join(names))


def test_the_real_server_answers_429_per_document_for_a_blocked_index(es, two_indices) -> None:  # type: ignore[no-untyped-def]
    ok_index, blocked = two_indices
    _block(es, blocked, True)
    raw = es.bulk(
        operations=[
            {"index": {"_index": blocked, "_id": "p"}},
            {"value": 1},
            {"index": {"_index": ok_index, "_id": "p"}},
            {"value": 1},
        ]
    )
    items = [next(iter(i.values())) for i in raw["items"]]
    assert [(i["_index"], i["status"]) for i in items] == [(blocked, 429), (ok_index, 201)]
    assert items[0]["error"]["type"] == "cluster_block_exception"


def test_refused_documents_are_retried_until_written_and_only_the_bad_one_is_rejected(
    es, two_indices
) -> None:  # type: ignore[no-untyped-def]
    ok_index, blocked = two_indices
    _block(es, blocked, True)
    actions = []
    for i in range(5):
        actions += [
            Action(blocked, f"b{i}", {"value": i}, origin=f"blocked-{i}"),
            Action(ok_index, f"o{i}", {"value": i}, origin=f"ok-{i}"),
        ]
    actions.insert(3, Action(ok_index, "bad", {"value": "not a number"}, origin="bad-record"))

    def lift_the_block_after_the_first_attempt() -> None:
        wait_for(lambda: _count(es, ok_index) >= 5, 60, "the first attempt's writes")
        _block(es, blocked, False)

    lifter = threading.Thread(target=lift_the_block_after_the_first_attempt)
    lifter.start()
    try:
        result = bulk_write(es, actions, refresh=True, attempts=40, backoff_s=0.2, backoff_cap_s=1)
    finally:
        lifter.join()
    assert result.written == 10
    assert [
        (a.origin, "document_parsing_exception" in reason or "mapper_parsing_exception" in reason)
        for a, reason in result.rejected
    ] == [("bad-record", True)]
    assert _count(es, blocked) == 5 and _count(es, ok_index) == 5


def test_a_refusal_that_lasts_is_store_unavailable_and_rejects_nothing(es, two_indices) -> None:  # type: ignore[no-untyped-def]
    ok_index, blocked = two_indices
    _block(es, blocked, True)
    actions = [Action(blocked, "b", {"value": 1}), Action(ok_index, "bad", {"value": "x"})]
    with pytest.raises(StoreUnavailable, match="429"):
        bulk_write(es, actions, attempts=2, backoff_s=0.01)


@pytest.mark.timeout(600)
def test_the_indexer_neither_dead_letters_nor_commits_while_the_store_refuses(settings: Settings, es) -> None:  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:8]
    s = settings.model_copy(
        update={"topic_prefix": f"retry{run}.", "index_prefix": f"retry{run}-", "index_group": f"retry{run}"}
    )
    ensure_topics(s)
    install_templates(es, s)
    metrics_index = index_name("metrics", s)
    report = ExtractedReport(
        report_id=f"retry-{run}",
        agency="丁局",
        year=2022,
        template=Template.GB2021,
        metrics={"applications.new_received": 5, "applications.granted": 2, "applications.refused.total": 1},
    )
    events = to_metric_events(report)
    producer = make_producer(s)
    try:
        for e in events:
            publish(producer, METRICS, e, s).get(timeout=60)
        bad = producer.send(METRICS.name(s), value=b"{not a metric event", key=b"x").get(timeout=60)
    finally:
        producer.close()
    _block(es, metrics_index, True)

    indexer = Indexer(s)
    with structlog.testing.capture_logs() as logs:
        worker = threading.Thread(target=indexer.run, daemon=True)
        worker.start()
        try:
            wait_for(
                lambda: sum(e["event"] == "elasticsearch unavailable, retrying batch" for e in logs) >= 2,
                # the indexer's group first has to join: on a fresh, loaded broker the group
                # coordinator can answer NotCoordinator for a minute or more
                300,
                "the indexer to retry the refused batch",
            )
            # refused means: not written, nothing dead-lettered (not even the bad record yet), nothing committed
            assert _count(es, metrics_index) == 0
            assert read_topic(DEADLETTER, s) == []
            assert _committed(s) == {}
            _block(es, metrics_index, False)
            wait_for(lambda: _count(es, metrics_index) == len(events), 120, "the documents to be written")
            ends = _end_offsets(s)
            wait_for(
                lambda: _committed(s) == ends,
                120,
                "the offsets to be committed",
                on_fail=lambda: f"committed {_committed(s)}, ends {ends}",
            )
        finally:
            indexer.stop()
            worker.join(60)
            _block(es, metrics_index, False)
    letters = read_topic(DEADLETTER, s, DeadLetter)
    assert [(d.source_topic, d.partition, d.offset, d.error_class) for d in letters] == [
        (METRICS.name(s), bad.partition, bad.offset, "DocumentRejected")
    ]
    assert letters[0].original == b"{not a metric event"


def _consumer(s: Settings) -> KafkaConsumer:
    return make_reader(s, client_id="ogi-test-committed", group_id=s.index_group)


def _committed(s: Settings) -> dict[int, int]:
    consumer = _consumer(s)
    try:
        name = METRICS.name(s)
        out = {}
        for p in sorted(consumer.partitions_for_topic(name) or []):
            offset = consumer.committed(TopicPartition(name, p))
            if offset:
                out[p] = offset
        return out
    finally:
        consumer.close()


def _end_offsets(s: Settings) -> dict[int, int]:
    consumer = _consumer(s)
    try:
        name = METRICS.name(s)
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items() if off}
    finally:
        consumer.close()
