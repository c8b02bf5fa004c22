"""The monitor's memory, kept in compacted Kafka topics.

``ingest.seen`` holds one :class:`SeenDocument` per URL (ETag,
Last-Modified, content sha256, version); ``ingest.status`` one
:class:`SourceStatus` per source (what ``ogi status`` prints).

Why a compacted topic rather than a file or a database:

- Kafka is already the system of record here, replicated and backed up
  with everything else; no second store to run, migrate or back up.
- Compaction keeps the latest record per key, so the topic stays the size
  of the URL set, not of the history, and a start-up reads it in seconds.
- Every monitor process reads the same topic: a restarted monitor, or a
  second one (``OGI_INGEST_SHARD=i/n`` splits sources between processes),
  rebuilds the same view; :meth:`CompactedTable.catch_up` before each
  source poll picks up what other processes wrote since.

Ordering is what makes a restart publish nothing twice: a document's raw
record is acknowledged (acks=all) before its ``seen`` record is written,
and the ``seen`` record is acknowledged before the next document. A crash
between those two acknowledgements — a few milliseconds — can re-publish
that one document after the restart; it has the same content sha256, so
it becomes the same report id downstream (the indexer overwrites). A
graceful stop (SIGTERM) finishes the document in hand and leaves no gap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import BaseModel

from ogi.broker import publish
from ogi.settings import Settings, get_settings
from ogi.topics import INGEST_SEEN, INGEST_STATUS, TopicSpec
from schemas.events import SeenDocument, SourceStatus

M = TypeVar("M", bound=BaseModel)


class CompactedTable(Generic[M]):
    """A compacted topic read into a dict (key -> latest model), kept up to
    date by :meth:`catch_up`, written through by :meth:`put`.
    ``memory=True`` keeps the dict only (unit tests; nothing survives)."""

    def __init__(self, spec: TopicSpec, settings: Settings | None = None,
                 producer: KafkaProducer | None = None, *, memory: bool = False) -> None:
        self.memory = memory
        self.spec = spec
        self.settings = settings or get_settings()
        self.producer = producer
        self._rows: dict[str, M] = {}
        self._lock = threading.RLock()
        self._consumer: KafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._hooks: list[Callable[[M], None]] = []

    def on_load(self, hook: Callable[[M], None]) -> None:
        self._hooks.append(hook)

    def _open(self) -> KafkaConsumer:
        if self._consumer is None:
            consumer = KafkaConsumer(
                bootstrap_servers=self.settings.bootstrap_servers,
                enable_auto_commit=False,
                group_id=None,
                client_id=f"ogi-ingest-{self.spec.suffix}",
            )
            name = self.spec.name(self.settings)
            deadline = time.monotonic() + 60
            parts = consumer.partitions_for_topic(name)
            while not parts and time.monotonic() < deadline:
                time.sleep(0.5)
                parts = consumer.partitions_for_topic(name)
            if not parts:
                consumer.close()
                raise RuntimeError(f"topic {name} does not exist (run `ogi setup`)")
            self._partitions = [TopicPartition(name, p) for p in sorted(parts)]
            consumer.assign(self._partitions)
            consumer.seek_to_beginning(*self._partitions)
            self._consumer = consumer
        return self._consumer

    def catch_up(self, timeout_s: float = 60) -> int:
        """Read everything written to the topic so far; returns how many
        records were applied."""
        if self.memory:
            return 0
        with self._lock:
            consumer = self._open()
            ends = consumer.end_offsets(self._partitions)
            applied = 0
            deadline = time.monotonic() + timeout_s
            while any(consumer.position(tp) < ends[tp] for tp in self._partitions):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not read {self.spec.name(self.settings)} in {timeout_s:.0f}s")
                for batch in consumer.poll(timeout_ms=500).values():
                    for record in batch:
                        key = record.key.decode("utf-8") if record.key else None
                        if key is None:
                            continue
                        if record.value is None:  # tombstone
                            self._rows.pop(key, None)
                            continue
                        row = self.spec.model.model_validate_json(record.value)
                        self._rows[key] = row  # type: ignore[assignment]
                        for hook in self._hooks:
                            hook(row)  # type: ignore[arg-type]
                        applied += 1
            return applied

    def get(self, key: str) -> M | None:
        with self._lock:
            return self._rows.get(key)

    def put(self, row: M, timeout_s: float = 120) -> None:
        """Write ``row`` and wait for the broker's acknowledgement."""
        if not self.memory:
            if self.producer is None:
                raise RuntimeError("this table is read-only (no producer)")
            publish(self.producer, self.spec, row, self.settings).get(timeout=timeout_s)
        key = getattr(row, self.spec.key)
        with self._lock:
            self._rows[str(key)] = row
            for hook in self._hooks:
                hook(row)

    def rows(self) -> Iterator[M]:
        with self._lock:
            return iter(list(self._rows.values()))

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class SeenState(CompactedTable[SeenDocument]):
    """What was seen at each URL, plus the contents each agency has had
    published (the same bytes under a new URL are not published again)."""

    def __init__(self, settings: Settings | None = None, producer: KafkaProducer | None = None,
                 *, memory: bool = False) -> None:
        super().__init__(INGEST_SEEN, settings, producer, memory=memory)
        self._contents: dict[str, set[str]] = {}
        self.on_load(self._index)

    def _index(self, row: SeenDocument) -> None:
        if row.sha256 and row.version > 0:
            self._contents.setdefault(row.agency_id, set()).add(row.sha256)

    def has_content(self, agency_id: str, sha256: str) -> bool:
        with self._lock:
            return sha256 in self._contents.get(agency_id, set())


class StatusTable(CompactedTable[SourceStatus]):
    def __init__(self, settings: Settings | None = None, producer: KafkaProducer | None = None,
                 *, memory: bool = False) -> None:
        super().__init__(INGEST_STATUS, settings, producer, memory=memory)
