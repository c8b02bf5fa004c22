"""The extract worker: a faust-streaming app whose one agent turns raw
documents into extracted reports and metric events.

Delivery: Faust commits a raw record's offset only after the agent has
finished with it, and the agent waits for the broker to acknowledge every
record it sends first. A crash or a broker restart therefore replays
records rather than dropping them, and the indexer's deterministic ids make
the replay harmless.
"""

from __future__ import annotations

import asyncio

import faust
import structlog

from ogi.deadletter import dead_letter
from ogi.settings import Settings, get_settings
from ogi.streams import bytes_topic, make_app, run, send_acked
from ogi.telemetry import RECORDS_CONSUMED
from ogi.topics import DEADLETTER, EXTRACTED, METRICS, RAW
from schemas import Stage
from services.extract.handler import handle_raw

log = structlog.get_logger("ogi.extract")


def create_app(settings: Settings) -> faust.App:
    app = make_app(
        settings.faust_app_id,
        settings,
        # extraction of a large document can take a while
        broker_max_poll_interval=max(300.0, settings.extract_timeout_s * 3),
    )
    raw_topic, extracted_topic, metrics_topic, dead_topic = (
        bytes_topic(app, spec, settings) for spec in (RAW, EXTRACTED, METRICS, DEADLETTER)
    )

    @app.agent(raw_topic, concurrency=1)
    async def extract_reports(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        async for event in stream.events():
            value: bytes = event.value
            msg = event.message
            RECORDS_CONSUMED.labels(msg.topic).inc()
            try:
                result = await loop.run_in_executor(None, handle_raw, value, settings)
            except Exception as exc:  # noqa: BLE001 - any failure is a dead letter, never a crash
                letter = dead_letter(
                    Stage.EXTRACT, exc, value, source_topic=msg.topic, partition=msg.partition,
                    offset=msg.offset, key=msg.key,
                )
                await send_acked(dead_topic, Stage.EXTRACT.value, letter.model_dump_json().encode())
                continue
            report = result.report
            key = report.agency_key
            await send_acked(extracted_topic, key, report.model_dump_json().encode())
            await send_acked(metrics_topic, key, *(m.model_dump_json().encode() for m in result.metrics))
            log.info(
                "extracted",
                report_id=report.report_id,
                agency=report.agency,
                year=report.year,
                template=report.template.value,
                metrics=len(report.metrics),
                failed_checks=report.failed_checks,
                offset=msg.offset,
            )

    return app


app = create_app(get_settings())


def run_worker(loglevel: str = "warning") -> None:
    """Run the worker until SIGINT/SIGTERM (``ogi serve extract``)."""
    run(app, loglevel)
