"""The detector worker: a faust-streaming app whose agents run every
extracted report and every source status through the detector engine
(``detector.Engine``) and put alerts on the alerts topic.

State lives in two Faust tables, each backed by a compacted changelog topic
from the topic table (``ogi setup`` creates them; Faust is not allowed to
declare topics, as in the extract worker):

* ``history`` — agency_key -> ``AgencyHistory`` (the figures of each year);
  written from the agent, so co-partitioned with ``reports.extracted``;
* ``emitted`` — alert_id -> ``EmittedAlert`` (fingerprint, revision,
  status, last revision sent); written from the agents and from the overdue
  timer, so it uses the key partitioner.

**One active detector, hot standbys** (``ogi/leader.py``): ``ogi serve
detect`` first wins a leader election, then starts the Faust worker, which
then holds every partition. Peer groups span partitions, and the peer index
(in memory, rebuilt from ``history``) must see them all; so must the
overdue check's offset snapshot. A standby takes over when the leader dies,
once the dead leader's Faust consumer has left the group (one clean
assignment: Faust can lose the events it buffered when a second rebalance
follows the first).

**Every offset, in order.** The agent compares each record's offset with
its own processed position; records the Faust consumer skipped (it can, at
a rebalance: it then commits offsets it never handed over) are read from
the broker and processed first. The history is complete by construction,
not by trust in the consumer.

**The overdue check decides from a known-complete history.** At each timer
tick it takes a snapshot of the end offsets of ``reports.extracted`` from
the broker; it runs once, for every partition, the detector's processed
position has reached the snapshot. The processed position is what this
process finished (the agent records ``offset + 1`` after each report) or,
for what an earlier process finished, the group's committed offset read
from the broker (Faust commits an offset only after the agent finished the
record and the table changelogs were flushed, so a history recovered after
a restart holds every record below it). So a report already on the topic
when the check starts is in the history when the check decides, however
large the backlog; and reports that keep arriving after the snapshot never
postpone it.

Delivery guarantees: for each record the agent (1) updates ``history``,
(2) for each alert revision (new, changed or resolved finding) sends it and
waits for the broker's ack, then (3) records it in ``emitted``. Faust
flushes the changelogs before it commits the record's offset. A crash
anywhere replays the record: a revision whose ack arrived but whose
``emitted`` record did not is sent once more with the same id and revision
(the compacted topic, the Elasticsearch id and the deliverer's idempotency
key absorb it); a revision is never lost, because ``emitted`` is written
only after the ack.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

import faust
import structlog
from faust.types import TP
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from pydantic import BaseModel

from ogi.broker import kafka_client
from ogi.deadletter import dead_letter_of
from ogi.leader import Leadership
from ogi.settings import Settings, get_settings
from ogi.streams import bytes_topic, fetch_producer_metadata, make_app, run, send_acked, tables_ready
from ogi.telemetry import RECORDS_CONSUMED
from ogi.topics import ALERTS, DEADLETTER, DETECT_EMITTED, DETECT_HISTORY, EXTRACTED, INGEST_STATUS, TopicSpec
from schemas import ExtractedReport, Stage, UndecodableRecord, decode, utcnow
from schemas.events import AgencyHistory, EmittedAlert, SourceStatus
from services.alerts.detector import Detector, Engine, Outcome
from services.alerts.rules import load_rules

log = structlog.get_logger("ogi.detect")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class TableStore(Generic[M]):
    """A Faust table of JSON bytes seen as a key -> model store."""

    def __init__(self, table: faust.types.TableT[Any, Any], model: type[M]) -> None:
        self.table = table
        self.model = model

    def get(self, key: str) -> M | None:
        raw = self.table.get(key.encode())
        return decode(self.model, raw) if raw else None

    def put(self, key: str, value: M) -> None:
        self.table[key.encode()] = value.model_dump_json().encode()

    def values(self) -> Iterable[M]:
        return [decode(self.model, raw) for raw in list(self.table.values()) if raw]


class BrokerOffsets:
    """End offsets of a topic and a group's committed offsets, asked of the
    broker (not of Faust's consumer, whose view may lag)."""

    def __init__(self, settings: Settings, spec: TopicSpec, group: str) -> None:
        self.settings = settings
        self.topic = spec.name(settings)
        self.group = group
        self._consumer: KafkaConsumer | None = None
        self._admin: KafkaAdminClient | None = None
        self._lock = threading.Lock()  # called from executor threads; the clients are not thread-safe

    def _clients(self) -> tuple[KafkaConsumer, KafkaAdminClient]:
        if self._consumer is None or self._admin is None:
            # short timeouts: a call blocks an executor thread that a stopping process waits for
            self._consumer = kafka_client(
                KafkaConsumer,
                self.settings,
                enable_auto_commit=False,
                client_id="ogi-detect-offsets",
                session_timeout_ms=6000,
                request_timeout_ms=10_000,
            )
            self._admin = kafka_client(
                KafkaAdminClient, self.settings, client_id="ogi-detect-offsets", request_timeout_ms=10_000
            )
        return self._consumer, self._admin

    def ends(self) -> dict[int, int]:
        with self._lock:
            consumer, _ = self._clients()
            tps = [
                TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or [])
            ]
            return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()} if tps else {}

    def committed(self) -> dict[int, int]:
        with self._lock:
            _, admin = self._clients()
            offsets = admin.list_consumer_group_offsets(self.group)
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self.topic and meta.offset is not None and meta.offset >= 0
        }


def gap(expected: int | None, offset: int) -> tuple[int, int] | None:
    """The offsets ``[start, end)`` the consumer skipped before ``offset``,
    if the detector expected an earlier one (None: no gap; an offset below
    the expected one is a replay, processed again harmlessly)."""
    if expected is None or offset <= expected:
        return None
    return expected, offset


class RangeReader:
    """Reads given offsets of one topic straight from the broker: the
    detector's own way to get records its Faust consumer skipped."""

    def __init__(self, settings: Settings, spec: TopicSpec) -> None:
        self.settings = settings
        self.topic = spec.name(settings)
        self._consumer: KafkaConsumer | None = None

    def read(self, partition: int, start: int, end: int) -> list[Any]:
        if self._consumer is None:
            s = self.settings
            self._consumer = kafka_client(
                KafkaConsumer,
                s,
                enable_auto_commit=False,
                client_id="ogi-detect-gaps",
                max_partition_fetch_bytes=s.max_message_bytes,
                fetch_max_bytes=s.max_message_bytes * 2,
                receive_message_max_bytes=s.max_message_bytes * 2 + 1024 * 1024,
                session_timeout_ms=6000,
                request_timeout_ms=30_000,
            )
        consumer = self._consumer
        tp = TopicPartition(self.topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        out: list[Any] = []
        deadline = time.monotonic() + 120
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(r for r in batch if start <= r.offset < end)
        return out


def behind(snapshot: dict[int, int], processed: dict[int, int], committed: dict[int, int]) -> dict[int, int]:
    """Per partition, how many records of the snapshot are not yet known to
    be in the history (empty: the check may decide)."""
    out = {}
    for partition, end in snapshot.items():
        done = max(processed.get(partition, 0), committed.get(partition, 0))
        if done < end:
            out[partition] = end - done
    return out


class InputTopic:
    """What the detector knows of one topic its agents read: the next
    offset after the last record the agent finished, per partition, and
    when the agent last began or finished a record."""

    def __init__(self, settings: Settings, spec: TopicSpec) -> None:
        self.offsets = BrokerOffsets(settings, spec, settings.detect_app_id)
        self.processed: dict[int, int] = {}
        self.last_input = time.monotonic()
        self.busy = False  # the agent is inside a record

    def began(self) -> None:
        self.last_input, self.busy = time.monotonic(), True

    def finished(self, partition: int, offset: int) -> None:
        self.processed[partition] = max(self.processed.get(partition, 0), offset + 1)
        self.last_input, self.busy = time.monotonic(), False

    def quiet_for(self, seconds: float) -> bool:
        return time.monotonic() - self.last_input >= seconds and not self.busy


class DetectorWorker:
    """The detector's Faust app, and the state its agents and timers share:
    the engine over the two tables, the processed position per partition
    (see the module doc), and when the detect agent last had input."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        # the topic table owns every topic, the tables' changelogs included. Faust's
        # own session timeout (60 s) stays: a shorter one turns a loaded machine's
        # pauses into rebalances, and Faust can lose buffered events at a rebalance
        # (see ogi/leader.py: wait_for_group_to_empty)
        self.app = app = make_app(
            settings.detect_app_id, settings, table_standby_replicas=0, store="memory://"
        )
        self.alerts_topic, self.dead_topic = self._topic(ALERTS), self._topic(DEADLETTER)
        history = self._table("history", DETECT_HISTORY)
        emitted = self._table("emitted", DETECT_EMITTED, use_partitioner=True)
        self.engine = Engine(
            Detector(load_rules(settings)),
            TableStore(history, AgencyHistory),
            TableStore(emitted, EmittedAlert),
        )
        self.reports = InputTopic(settings, EXTRACTED)
        self.statuses = InputTopic(settings, INGEST_STATUS)
        self.reader = RangeReader(settings, EXTRACTED)
        self.lock = asyncio.Lock()  # the agents and the timer never reconcile the same alert at once
        self.metadata_warm = False

        # Faust registers agents and timers from plain functions (it names them by their qualname)
        @app.agent(self._topic(EXTRACTED), concurrency=1)
        async def detect(stream: faust.StreamT[bytes]) -> None:
            await self.detect(stream)

        @app.agent(self._topic(INGEST_STATUS), concurrency=1)
        async def watch_sources(stream: faust.StreamT[bytes]) -> None:
            await self.watch_sources(stream)

        @app.timer(interval=settings.detect_reread_idle_s)  # type: ignore[untyped-decorator]
        async def reread_stranded() -> None:
            await self.reread_stranded()

        @app.timer(interval=settings.detect_overdue_interval_s)  # type: ignore[untyped-decorator]
        async def overdue() -> None:
            await self.overdue()

        @app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def reindex(sender: Any = None, **kwargs: Any) -> None:
            self.engine.reset_index()  # the tables may hold other partitions now

    def _topic(self, spec: TopicSpec, **kw: Any) -> faust.TopicT:
        return bytes_topic(self.app, spec, self.settings, **kw)

    def _table(self, name: str, changelog: TopicSpec, **kw: Any) -> faust.types.TableT[Any, Any]:
        n = self.settings.topic_partitions
        return self.app.Table(
            name,
            key_type=bytes,
            value_type=bytes,
            partitions=n,
            changelog_topic=self._topic(changelog, partitions=n, compacting=True, internal=True),
            **kw,
        )

    @staticmethod
    async def in_thread(fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def warm_metadata(self) -> None:
        # ``emitted`` picks partitions with the key partitioner, which needs the
        # changelog's metadata; Faust does not fetch it for a topic it may not declare.
        if not self.metadata_warm:
            self.metadata_warm = await fetch_producer_metadata(self.app, DETECT_EMITTED.name(self.settings))

    async def emit(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            alert = outcome.alert
            await send_acked(self.alerts_topic, alert.alert_id, alert.model_dump_json().encode())
            self.engine.commit(outcome)  # only after the ack (see the module doc)
            log.info(
                "alert",
                rule=alert.rule,
                agency=alert.agency,
                year=alert.year,
                severity=alert.severity.value,
                revision=alert.revision,
                status=alert.status.value,
                alert_id=alert.alert_id,
            )

    async def process(self, model: type[M], handle: Callable[[M], list[Outcome]], record: Any) -> None:
        """Decode ``record`` (a Faust message or a kafka-python record: both
        have topic, partition, offset, key and value), run ``handle`` on it
        and emit the outcomes; what fails becomes a dead letter."""
        try:
            decoded = decode(model, record.value)
            async with self.lock:
                await self.warm_metadata()
                await self.emit(handle(decoded))
        except Exception as exc:
            if not isinstance(exc, UndecodableRecord):
                log.exception(
                    "detector error", topic=record.topic, offset=record.offset, partition=record.partition
                )
            letter = dead_letter_of(Stage.DETECT, exc, record)
            await send_acked(self.dead_topic, Stage.DETECT.value, letter.model_dump_json().encode())

    def on_report(self, report: ExtractedReport) -> list[Outcome]:
        return self.engine.on_report(report, self.clock())

    async def fill_gap(self, msg: Any) -> None:
        """Faust can hand the agent a later record while skipping earlier
        ones (seen at rebalances); the detector checks every offset against
        its own position and reads what was skipped from the broker, in
        order, before the record in hand (same partition, so the history
        writes land where they belong)."""
        expected = self.reports.processed.get(msg.partition)
        if expected is None:  # first record of the partition in this process: resume point
            expected = (await self.in_thread(self.reports.offsets.committed)).get(msg.partition)
        missing = gap(expected, msg.offset)
        if missing is None:
            return
        log.warning(
            "records skipped by the consumer: reading them from the broker",
            partition=msg.partition,
            start=missing[0],
            end=missing[1],
        )
        for rec in await self.in_thread(lambda: self.reader.read(msg.partition, *missing)):
            await self.process(ExtractedReport, self.on_report, rec)
            self.reports.processed[msg.partition] = rec.offset + 1

    async def detect(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            RECORDS_CONSUMED.labels(msg.topic).inc()
            self.reports.began()
            try:
                await self.fill_gap(msg)
                await self.process(ExtractedReport, self.on_report, msg)
            finally:
                self.reports.finished(msg.partition, msg.offset)

    async def watch_sources(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            RECORDS_CONSUMED.labels(msg.topic).inc()
            self.statuses.began()
            try:
                await self.process(SourceStatus, lambda s: self.engine.on_source(s, self.clock()), msg)
            finally:
                self.statuses.finished(msg.partition, msg.offset)

    def ready(self) -> bool:
        return tables_ready(self.app)

    async def wait_for_snapshot(self) -> bool:
        """Take the snapshot and wait until the history holds it (see the
        module doc); False if that did not happen in time."""
        snapshot = await self.in_thread(self.reports.offsets.ends)
        deadline = time.monotonic() + self.settings.detect_overdue_wait_s
        log.info("overdue check: waiting for the history to reach the snapshot", snapshot=snapshot)
        committed: dict[int, int] = {}
        while True:
            if not self.ready():
                log.info("overdue check postponed: rebalancing")
                return False
            missing = behind(snapshot, self.reports.processed, committed)
            if not missing:
                return True
            if time.monotonic() > deadline:
                log.warning("overdue check skipped: the snapshot was not reached in time", behind=missing)
                return False
            await asyncio.sleep(0.5)
            committed = await self.in_thread(self.reports.offsets.committed)

    def idle(self, topic: InputTopic) -> bool:
        return topic.quiet_for(self.settings.detect_reread_idle_s) and self.ready()

    async def reread_stranded(self) -> None:
        """Records Faust fetched and then dropped (it clears its stream
        buffers at a rebalance and at the end of a table recovery) are
        re-read from its position only if it seeks there; when it does not,
        fill_gap sees the gap at the next report, but the last records of a
        partition would wait for ever (and a source status has no gap check).
        So: when an agent has had no input for a while and its topic holds
        records beyond what the agent finished, Faust's consumer is sought
        back to the agent's position."""
        for topic in (self.reports, self.statuses):
            if not self.idle(topic):
                continue
            ends = await self.in_thread(topic.offsets.ends)
            committed = await self.in_thread(topic.offsets.committed)
            stranded = behind(ends, topic.processed, committed)
            if not self.idle(topic):
                continue  # input arrived (or a rebalance began) meanwhile
            for partition in sorted(stranded):
                start = max(topic.processed.get(partition, 0), committed.get(partition, 0))
                log.warning(
                    "records on the topic never reached the detector: reading them again",
                    topic=topic.offsets.topic,
                    partition=partition,
                    start=start,
                    end=ends[partition],
                )
                await self.app.consumer.seek(TP(topic.offsets.topic, partition), start)
            if stranded:
                topic.last_input = time.monotonic()  # the re-read gets its time before the next verdict

    async def overdue(self) -> None:
        if not self.ready():
            return  # a half-recovered history would report every agency overdue
        if not await self.wait_for_snapshot():
            return
        async with self.lock:
            await self.warm_metadata()
            outcomes = self.engine.on_schedule(self.clock())
            await self.emit(outcomes)
        log.info("overdue check done", alerts=len(outcomes))


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> faust.App:
    return DetectorWorker(settings, clock=clock).app


app = create_app(get_settings())


def run_detector(loglevel: str = "warning") -> None:
    """Run the detector until SIGINT/SIGTERM (``ogi serve detect``): stand by
    until this instance leads, then run the Faust worker."""
    settings = get_settings()
    leadership = Leadership(
        settings.detect_app_id, settings, on_lost=lambda: os.kill(os.getpid(), signal.SIGTERM)
    )
    try:
        if leadership.acquire() and leadership.wait_for_group_to_empty(settings.detect_app_id):
            run(app, loglevel)
    finally:
        leadership.release()


__all__ = [
    "BrokerOffsets",
    "DetectorWorker",
    "RangeReader",
    "TableStore",
    "behind",
    "create_app",
    "gap",
    "run_detector",
]
