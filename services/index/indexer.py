"""The indexer: consumes extracted reports, metric events, alerts and dead
letters and bulk-writes them into Elasticsearch.

Offsets are committed only after a batch is durable in Elasticsearch (or,
for a record Elasticsearch refuses, durable on the dead-letter topic). If
Elasticsearch is down the indexer waits and retries the same batch: a
restart delays indexing, it never drops a record.
"""

from __future__ import annotations

import time

import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import CommitFailedError

from ogi import telemetry
from ogi.broker import make_consumer, make_producer, publish
from ogi.deadletter import dead_letter_of
from ogi.elastic import install_templates, make_client, wait_for_store
from ogi.settings import Settings, get_settings
from ogi.signals import in_hand, pause, stop_on_signals
from ogi.topics import ALERTS, DEADLETTER, EXTRACTED, METRICS
from schemas import Stage
from services.index.documents import to_action
from services.index.errors import DocumentRejected, StoreUnavailable
from services.index.store import Action, bulk_write

log = structlog.get_logger("ogi.index")

#: how long closing the Kafka clients may take on the way out
CLOSE_TIMEOUT_MS = 2000


class Indexer:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.es = make_client(self.settings)
        self.group_id = self.settings.index_group
        self._stopping = False
        self.consumer: KafkaConsumer | None = None
        self.producer: KafkaProducer | None = None

    def stop(self, *_: object) -> None:
        self._stopping = True

    def _dead(self, letters: list) -> None:  # type: ignore[type-arg]
        assert self.producer is not None
        futures = [publish(self.producer, DEADLETTER, letter, self.settings) for letter in letters]
        for f in futures:
            f.get(timeout=300)

    def process_batch(self, records: list) -> int:  # type: ignore[type-arg]
        """Index one poll's records; returns how many documents were written.
        Raises StoreUnavailable (nothing committed) if Elasticsearch is down."""
        actions: list[Action] = []
        letters = []
        for rec in records:
            try:
                action = to_action(rec.topic, rec.value, self.settings)
            except DocumentRejected as exc:
                if rec.topic == DEADLETTER.name(self.settings):
                    log.error("unreadable dead letter dropped from index (kept on topic)", offset=rec.offset)
                    continue
                letters.append(dead_letter_of(Stage.INDEX, exc, rec))
                continue
            actions.append(Action(action.index, action.doc_id, action.source, origin=rec))
        started = time.monotonic()
        try:
            result = bulk_write(
                self.es,
                actions,
                max_docs=self.settings.es_bulk_size,
                max_bytes=self.settings.es_bulk_max_bytes,
            )
        except StoreUnavailable as exc:
            telemetry.error(exc)
            raise
        telemetry.BULK_SECONDS.observe(time.monotonic() - started)
        telemetry.BULK_DOCUMENTS.observe(len(actions))
        for action, reason in result.rejected:
            letters.append(dead_letter_of(Stage.INDEX, DocumentRejected(reason), action.origin))
        if letters:
            self._dead(letters)
        if result.written:
            log.info("indexed", documents=result.written, rejected=len(result.rejected))
        return result.written

    def run(self, *, idle_exit_s: float | None = None) -> None:
        """Consume until stopped (SIGTERM/SIGINT), or until nothing has
        arrived for ``idle_exit_s`` seconds when given."""
        wait_for_store(self.es, timeout_s=600)
        install_templates(self.es, self.settings)
        self.consumer = make_consumer(self.group_id, [EXTRACTED, METRICS, ALERTS, DEADLETTER], self.settings)
        self.producer = make_producer(self.settings)
        last_data = time.monotonic()
        try:
            while not self._stopping:
                # one poll is one durable step (written, then committed); requests are cut by size
                polled = self.consumer.poll(timeout_ms=1000, max_records=self.settings.index_poll_records)
                records = [r for batch in polled.values() for r in batch]
                if not records:
                    if idle_exit_s is not None and time.monotonic() - last_data > idle_exit_s:
                        break
                    continue
                last_data = time.monotonic()
                for rec in records:
                    telemetry.RECORDS_CONSUMED.labels(rec.topic).inc()
                with in_hand(
                    f"{len(records)} polled records, not committed (the next indexer reads them again)"
                ):
                    self._write_until_durable(records)
                    try:
                        self.consumer.commit()
                    except CommitFailedError as exc:
                        # The group rebalanced while we waited for Elasticsearch;
                        # the batch will be replayed and overwrite the same ids.
                        log.warning(
                            "commit failed after rebalance; batch will be replayed", error=str(exc)[:300]
                        )
        finally:
            # bounded: a broker that went away must not hold the stop
            self.consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
            self.producer.close(timeout=CLOSE_TIMEOUT_MS / 1000)

    def _write_until_durable(self, records: list) -> None:  # type: ignore[type-arg]
        """Keep the batch and keep the partitions: retry until Elasticsearch
        takes it (a stop interrupts the wait; nothing is committed then)."""
        delay = 1.0
        while True:
            try:
                self.process_batch(records)
                return
            except StoreUnavailable as exc:
                log.warning("elasticsearch unavailable, retrying batch", error=str(exc)[:300], delay=delay)
                pause(delay, "Elasticsearch")
                delay = min(delay * 2, 30)


def run_indexer() -> None:
    indexer = Indexer()
    stop_on_signals(indexer.stop)
    indexer.run()
