"""A compacted topic read into a dict: the one reader of the project's
compacted topics (the monitor's seen-state and source status, the alert
subscriptions, the delivery log).

Records are decoded through :func:`schemas.events.decode`, so the schema
version is checked like everywhere else; a record that does not decode is
skipped with a log line (the key keeps its previous row), never raised out
of the reading loop: one bad record on a shared topic must not stop every
service that reads it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import structlog
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import BaseModel

from ogi.broker import make_reader, publish
from ogi.settings import Settings, get_settings
from ogi.topics import TopicSpec
from schemas.events import UndecodableRecord, decode

log = structlog.get_logger("ogi.table")

M = TypeVar("M", bound=BaseModel)


class TopicMissing(RuntimeError):
    """The table's topic does not exist (``ogi setup`` not run)."""


class CompactedTable(Generic[M]):
    """A compacted topic read into a dict (key -> latest model), kept up to
    date by :meth:`catch_up`, written through by :meth:`put`.
    ``memory=True`` keeps the dict only (unit tests; nothing survives).
    ``wait_topic_s`` is how long a missing topic is waited for; with
    ``missing_ok`` a topic still missing then reads as empty."""

    def __init__(
        self,
        spec: TopicSpec,
        settings: Settings | None = None,
        producer: KafkaProducer | None = None,
        *,
        memory: bool = False,
        wait_topic_s: float = 60,
        missing_ok: bool = False,
    ) -> None:
        self.memory = memory
        self.spec = spec
        self.settings = settings or get_settings()
        self.producer = producer
        self.wait_topic_s = wait_topic_s
        self.missing_ok = missing_ok
        self._rows: dict[str, M] = {}
        self._lock = threading.RLock()
        self._consumer: KafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._hooks: list[Callable[[M], None]] = []

    def on_load(self, hook: Callable[[M], None]) -> None:
        self._hooks.append(hook)

    def _open(self) -> KafkaConsumer:
        if self._consumer is None:
            consumer = make_reader(self.settings, client_id=f"ogi-table-{self.spec.suffix}")
            name = self.spec.name(self.settings)
            deadline = time.monotonic() + self.wait_topic_s
            parts = consumer.partitions_for_topic(name)
            while not parts and time.monotonic() < deadline:
                time.sleep(0.5)
                parts = consumer.partitions_for_topic(name)
            if not parts and not self.missing_ok:
                consumer.close()
                raise TopicMissing(f"topic {name} does not exist (run `ogi setup`)")
            self._partitions = [TopicPartition(name, p) for p in sorted(parts or [])]
            consumer.assign(self._partitions)
            if self._partitions:
                consumer.seek_to_beginning(*self._partitions)
            self._consumer = consumer
        return self._consumer

    def catch_up(self, timeout_s: float = 60) -> int:
        """Read everything written to the topic so far; returns how many
        records were applied. Raises TimeoutError if that takes longer
        than ``timeout_s``."""
        if self.memory:
            return 0
        with self._lock:
            consumer = self._open()
            if not self._partitions:
                return 0
            ends = consumer.end_offsets(self._partitions)
            applied = 0
            deadline = time.monotonic() + timeout_s
            while any(consumer.position(tp) < ends[tp] for tp in self._partitions):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not read {self.spec.name(self.settings)} in {timeout_s:.0f}s")
                for batch in consumer.poll(timeout_ms=500).values():
                    for record in batch:
                        key = record.key.decode("utf-8", "replace") if record.key else None
                        if key is None:
                            continue
                        if record.value is None:  # tombstone
                            self._rows.pop(key, None)
                            continue
                        try:
                            row = decode(self.spec.model, record.value)
                        except UndecodableRecord as exc:
                            log.warning(
                                "undecodable record skipped",
                                topic=record.topic,
                                partition=record.partition,
                                offset=record.offset,
                                error=str(exc)[:500],
                            )
                            continue
                        self._rows[key] = row  # type: ignore[assignment]
                        for hook in self._hooks:
                            hook(row)  # type: ignore[arg-type]
                        applied += 1
            return applied

    def get(self, key: str) -> M | None:
        with self._lock:
            return self._rows.get(key)

    def _writer(self) -> KafkaProducer:
        if self.producer is None:
            raise RuntimeError("this table is read-only (no producer)")
        return self.producer

    def put(self, row: M, timeout_s: float = 120) -> None:
        """Write ``row`` and wait for the broker's acknowledgement."""
        if not self.memory:
            publish(self._writer(), self.spec, row, self.settings).get(timeout=timeout_s)
        key = getattr(row, self.spec.key)
        with self._lock:
            self._rows[str(key)] = row
            for hook in self._hooks:
                hook(row)

    def delete(self, key: str, timeout_s: float = 120) -> None:
        """Tombstone ``key`` (compaction then forgets it) and wait for the ack."""
        if not self.memory:
            self._writer().send(self.spec.name(self.settings), key=key.encode("utf-8"), value=None).get(
                timeout=timeout_s
            )
        with self._lock:
            self._rows.pop(key, None)

    def rows(self) -> Iterator[M]:
        with self._lock:
            return iter(list(self._rows.values()))

    def as_dict(self) -> dict[str, M]:
        with self._lock:
            return dict(self._rows)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
