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

from kafka import KafkaProducer

from ogi.settings import Settings
from ogi.table import CompactedTable
from ogi.topics import INGEST_SEEN, INGEST_STATUS
from schemas.events import SeenDocument, SourceStatus

__all__ = ["CompactedTable", "SeenState", "StatusTable"]


class SeenState(CompactedTable[SeenDocument]):
    """What was seen at each URL, plus the contents each agency has had
    published (the same bytes under a new URL are not published again)."""

    def __init__(
        self, settings: Settings | None = None, producer: KafkaProducer | None = None, *, memory: bool = False
    ) -> None:
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
    def __init__(
        self, settings: Settings | None = None, producer: KafkaProducer | None = None, *, memory: bool = False
    ) -> None:
        super().__init__(INGEST_STATUS, settings, producer, memory=memory)
