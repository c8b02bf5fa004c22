"""The extract worker: a faust-streaming app whose one agent turns raw
documents into extracted reports and metric events.

Delivery: Faust commits a raw record's offset only after the agent has
acknowledged it, and the agent acknowledges a record only once the broker
has acknowledged every record it produced from it. A crash or a broker
restart therefore replays records rather than dropping them, and the
indexer's deterministic ids make the replay harmless.

Parallelism: one worker extracts several records at once, in a pool of
bounded children (one per core, ``extract_children``). The agent reads
ahead up to twice the pool size, but produces and acknowledges strictly in
the order it read: a partition's records (and so every agency's) come out
in order, and the committed offset never passes a record still in work.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import Any, cast

import faust
import structlog

from ogi.deadletter import dead_letter_of
from ogi.settings import Settings, get_settings
from ogi.streams import bytes_topic, make_app, run, send_acked, send_unacked
from ogi.telemetry import RECORDS_CONSUMED
from ogi.topics import DEADLETTER, EXTRACTED, METRICS, RAW
from schemas import Stage
from services.extract.engine.bounded import ExtractorPool
from services.extract.handler import Extracted, handle_raw

log = structlog.get_logger("ogi.extract")

#: raw records the worker holds ahead of its agent (Faust's stream buffer;
#: it pauses fetching at 4/5 of this). Faust's default, 4,096, held a
#: backlog's first few thousand documents in memory: the worker's own
#: process went from ~170 to ~340 MB PSS in a 10,000-report backfill and
#: stayed there. The agent only reads ahead twice the pool size.
STREAM_BUFFER = 64
#: bytes fetched per partition per request. Faust's apps take the raw
#: topic's record limit (~42 MB) here, so one fetch could bring ~2,000
#: documents at once. A record larger than this still arrives whole (the
#: broker returns the first record batch whatever its size; a 30 MB record
#: came through a 1 MB fetch size on the local Kafka 4.1).
FETCH_BYTES = 1024 * 1024


def create_app(settings: Settings) -> faust.App:
    app = make_app(
        settings.faust_app_id,
        settings,
        # extraction of a large document can take a while
        broker_max_poll_interval=max(300.0, settings.extract_timeout_s * 3),
        stream_buffer_maxsize=STREAM_BUFFER,
        consumer_max_fetch_size=FETCH_BYTES,
    )
    raw_topic, extracted_topic, metrics_topic, dead_topic = (
        bytes_topic(app, spec, settings) for spec in (RAW, EXTRACTED, METRICS, DEADLETTER)
    )

    children = settings.extract_children or len(os.sched_getaffinity(0))
    pool = ExtractorPool(
        children,
        timeout_s=settings.extract_timeout_s,
        max_memory_mb=settings.extract_max_memory_mb,
        use_resident_office=settings.extract_resident_office,
        child_max_rss_mb=settings.extract_child_max_rss_mb,
        office_max_rss_mb=settings.extract_office_max_rss_mb,
    )
    read_ahead = 2 * children  # keeps every child busy while the head of the line is produced

    async def emit(event: faust.EventT[bytes], work: asyncio.Future[Extracted]) -> None:
        """Produce what one record became (or its dead letter), acked."""
        msg = event.message
        try:
            result = await work
        except Exception as exc:
            letter = dead_letter_of(Stage.EXTRACT, exc, msg)
            await send_acked(dead_topic, Stage.EXTRACT.value, letter.model_dump_json().encode())
            return
        report = result.report
        key = report.agency_key
        # both topics' batches on their way before the one wait for all their acks
        acks = await send_unacked(extracted_topic, key, report.model_dump_json().encode())
        acks += await send_unacked(
            metrics_topic, key, *(m.model_dump_json().encode() for m in result.metrics)
        )
        await asyncio.gather(*acks)
        usage = result.usage
        log.info(
            "extracted",
            report_id=report.report_id,
            agency=report.agency,
            year=report.year,
            template=report.template.value,
            format=report.format,
            metrics=len(report.metrics),
            failed_checks=report.failed_checks,
            offset=msg.offset,
            cpu_s=round(usage.cpu_seconds, 4) if usage and usage.cpu_seconds is not None else None,
            extract_s=round(usage.seconds, 4) if usage else None,
            # the child's size after the document, and its resident LibreOffice's (the pool's caps)
            rss_mb=round(usage.rss_mb) if usage and usage.rss_mb is not None else None,
            office_rss_mb=round(usage.office_rss_mb) if usage and usage.office_rss_mb is not None else None,
        )

    @app.agent(raw_topic, concurrency=1)
    async def extract_reports(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pool.start)
        manual = cast(Any, stream).noack()  # Stream.noack is not in Faust's typed interface
        events = manual.events().__aiter__()
        in_work: deque[tuple[faust.EventT[bytes], asyncio.Future[Extracted]]] = deque()
        next_event: asyncio.Future[faust.EventT[bytes]] | None = None
        try:
            while True:
                if next_event is None and len(in_work) < read_ahead:
                    next_event = asyncio.ensure_future(events.__anext__())
                waiting: set[asyncio.Future[Any]] = {next_event} if next_event is not None else set()
                if in_work:
                    waiting.add(in_work[0][1])
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                while in_work and in_work[0][1].done():
                    event, work = in_work.popleft()
                    await emit(event, work)
                    await manual.ack(event)
                if next_event is not None and next_event.done():
                    try:
                        event = next_event.result()
                    except StopAsyncIteration:
                        break
                    next_event = None
                    RECORDS_CONSUMED.labels(event.message.topic).inc()
                    in_work.append(
                        (event, loop.run_in_executor(None, handle_raw, event.value, settings, pool))
                    )
            while in_work:  # the stream ended: finish what was read
                event, work = in_work.popleft()
                await emit(event, work)
                await manual.ack(event)
        finally:
            if next_event is not None:
                next_event.cancel()
            pool.close()

    return app


app = create_app(get_settings())


def run_worker(loglevel: str = "warning") -> None:
    """Run the worker until SIGINT/SIGTERM (``ogi serve extract``)."""
    run(app, loglevel)
