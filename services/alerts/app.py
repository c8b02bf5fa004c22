"""The detector worker: a faust-streaming app whose agent runs every
extracted report through the rules and puts alerts on the alerts topic.

State lives in two Faust tables, each backed by a compacted changelog topic
from the topic table (``ogi setup`` creates them; Faust is not allowed to
declare topics, as in the extract worker):

* ``history`` — agency_key -> ``AgencyHistory`` (the figures of each year);
  written from the agent, so co-partitioned with ``reports.extracted``;
* ``emitted`` — alert_id -> ``EmittedAlert`` (fingerprint, revision,
  first_seen); written from the agent and from the overdue timer, so it
  uses the key partitioner.

The overdue check runs on a timer, but only once the agent has caught up:
the offsets committed for reports.extracted (Faust commits a record only
after the agent finished it) have reached the end of every partition, and
no report arrived for ``detect_overdue_quiet_s``. A detector restarted
behind a backlog would otherwise call reports overdue that are merely
still queued.

Peer groups (same region and level, same year) are an in-memory index over
``history``, rebuilt from the table after a restart. The index sees the
agencies of the partitions this worker holds: run one detector (the load
is a few thousand reports a year), or peers are compared per partition.

Delivery guarantees: for each report the agent (1) updates ``history``,
(2) for each finding that is new or changed, sends the alert and waits for
the broker's ack, then (3) records it in ``emitted``. Faust flushes the
changelogs before it commits the report's offset. A crash anywhere replays
the report: an alert whose ack arrived but whose ``emitted`` record did not
is sent once more with the same id and revision (the compacted topic, the
Elasticsearch id and the deliverer's idempotency key absorb it); an alert is
never lost, because ``emitted`` is written only after the ack.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import faust
import structlog

from ogi.deadletter import dead_letter
from ogi.settings import Settings, get_settings
from ogi.telemetry import RECORDS_CONSUMED
from ogi.streams import bytes_topic, make_app, run, send_acked
from ogi.topics import ALERTS, DEADLETTER, DETECT_EMITTED, DETECT_HISTORY, EXTRACTED, TopicSpec
from schemas import Alert, ExtractedReport, Stage, UndecodableRecord, decode, utcnow
from schemas.events import AgencyHistory, EmittedAlert
from services.alerts.detector import Detector, PeerIndex, alert_id, reconcile
from services.alerts.rules import Finding, load_rules

log = structlog.get_logger("ogi.detect")


def create_app(settings: Settings, *, clock: Any = utcnow) -> faust.App:
    # the topic table owns every topic, the tables' changelogs included
    app = make_app(settings.detect_app_id, settings, table_standby_replicas=0, store="memory://")

    def topic(spec: TopicSpec, **kw: Any) -> faust.TopicT:
        return bytes_topic(app, spec, settings, **kw)

    extracted_topic, alerts_topic, dead_topic = topic(EXTRACTED), topic(ALERTS), topic(DEADLETTER)
    history = app.Table(
        "history", key_type=bytes, value_type=bytes,
        partitions=settings.topic_partitions,
        changelog_topic=topic(DETECT_HISTORY, partitions=settings.topic_partitions, compacting=True, internal=True),
    )
    emitted = app.Table(
        "emitted", key_type=bytes, value_type=bytes,
        partitions=settings.topic_partitions, use_partitioner=True,
        changelog_topic=topic(DETECT_EMITTED, partitions=settings.topic_partitions, compacting=True, internal=True),
    )
    detector = Detector(load_rules(settings))
    peers = PeerIndex()
    state: dict[str, Any] = {"indexed": False, "last_event": time.monotonic()}
    processed: dict[Any, int] = {}  # partition -> next offset after the last report the agent finished
    lock = asyncio.Lock()  # the agent and the timer never reconcile the same alert at once

    def load_history(key: str) -> AgencyHistory | None:
        raw = history.get(key.encode())
        return AgencyHistory.model_validate_json(raw) if raw else None

    def ensure_index() -> None:
        if state["indexed"]:
            return
        for raw in list(history.values()):
            if raw:
                peers.update(AgencyHistory.model_validate_json(raw))
        state["indexed"] = True
        log.info("peer index rebuilt", agencies=len(peers))

    async def warm_metadata() -> None:
        # ``emitted`` picks partitions with the key partitioner, which needs the
        # changelog's metadata; Faust does not fetch it for a topic it may not declare.
        if state.get("warm"):
            return
        producer = getattr(app.producer, "_producer", None)
        if producer is not None:
            await producer.partitions_for(DETECT_EMITTED.name(settings))
            state["warm"] = True

    # send_acked waits for the broker's ack, before the state that says "sent" is written
    send = send_acked

    async def emit(findings: list[Finding], hist: AgencyHistory, now: datetime) -> list[Alert]:
        sent = []
        for finding in findings:
            aid = alert_id(finding, hist).encode()
            raw = emitted.get(aid)
            previous = EmittedAlert.model_validate_json(raw) if raw else None
            result = reconcile(finding, hist, previous, now)
            if result is None:
                continue
            alert, remembered = result
            await send(alerts_topic, alert.alert_id, alert.model_dump_json().encode())
            emitted[aid] = remembered.model_dump_json().encode()
            sent.append(alert)
            log.info("alert", rule=alert.rule, agency=alert.agency, year=alert.year, severity=alert.severity.value,
                     revision=alert.revision, alert_id=alert.alert_id)
        return sent

    @app.agent(extracted_topic, concurrency=1)
    async def detect(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            value: bytes = event.value
            msg = event.message
            RECORDS_CONSUMED.labels(msg.topic).inc()
            state["last_event"] = time.monotonic()
            try:
                report = decode(ExtractedReport, value)
                async with lock:
                    await warm_metadata()
                    ensure_index()
                    now = clock()
                    hist, findings = detector.observe(load_history(report.agency_key), report, now, peers.peers,
                                                      lambda aid: emitted.get(aid.encode()) is not None)
                    if hist is None:
                        continue
                    history[hist.agency_key.encode()] = hist.model_dump_json().encode()
                    peers.update(hist)
                    await emit(findings, hist, now)
            except Exception as exc:
                if not isinstance(exc, UndecodableRecord):
                    log.exception("detector error", offset=msg.offset, partition=msg.partition)
                letter = dead_letter(Stage.DETECT, exc, value, source_topic=msg.topic, partition=msg.partition,
                                     offset=msg.offset, key=msg.key)
                await send(dead_topic, Stage.DETECT.value, letter.model_dump_json().encode())
            finally:
                state["last_event"] = time.monotonic()
                processed[msg.tp] = msg.offset + 1

    async def caught_up() -> bool:
        """No report arrived lately, and every record of every partition has
        been processed and committed."""
        if time.monotonic() - state["last_event"] < settings.detect_overdue_quiet_s:
            return False
        name = EXTRACTED.name(settings)
        tps = [tp for tp in app.consumer.assignment() if tp.topic == name]
        if not tps:
            return False
        highwaters = await app.consumer.highwaters(*tps)
        # Done up to: what the agent finished since this worker started, or,
        # for a partition it has not read from yet, Faust's committed offset
        # (next offset to read, seeded from the broker on assignment).
        committed = getattr(app.consumer, "_committed_offset", None)
        for tp in tps:
            end = highwaters.get(tp) or 0
            seeded = committed.get(tp) if committed is not None else await app.consumer.position(tp)
            if end > max(processed.get(tp, 0), seeded or 0):
                return False
        return True

    @app.timer(interval=settings.detect_overdue_interval_s)  # type: ignore[untyped-decorator]
    async def overdue() -> None:
        recovery = app.tables.recovery  # type: ignore[attr-defined]
        if app.rebalancing or app.in_recovery or not recovery.completed.is_set():
            return  # a half-recovered history would report every agency overdue
        if not await caught_up():
            log.info("overdue check postponed: reports still arriving")
            return
        async with lock:
            await warm_metadata()
            now = clock()
            count = 0
            for raw in list(history.values()):
                if not raw:
                    continue
                hist = AgencyHistory.model_validate_json(raw)
                count += len(await emit(detector.scheduled(hist, now), hist, now))
            if count:
                log.info("overdue check", alerts=count)

    return app


app = create_app(get_settings())


def run_detector(loglevel: str = "warning") -> None:
    """Run the detector until SIGINT/SIGTERM (``ogi serve detect``)."""
    run(app, loglevel)
