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
from ogi.topics import DEADLETTER, EXTRACTED, METRICS, RAW
from schemas import Stage
from services.extract.handler import handle_raw

log = structlog.get_logger("ogi.extract")


def create_app(settings: Settings) -> faust.App:
    limit = settings.max_message_bytes
    datadir = settings.home / "run" / "faust" / settings.faust_app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.faust_app_id,
        broker=";".join(f"kafka://{b}" for b in settings.bootstrap_servers),
        datadir=str(datadir),
        web_enabled=False,
        producer_acks=-1,
        producer_max_request_size=limit,
        consumer_max_fetch_size=limit,
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=settings.topic_replication,
        topic_partitions=settings.topic_partitions,
        # the topic table owns topic configs; Faust must not create or alter them
        topic_allow_declare=False,
        stream_wait_empty=False,
        broker_commit_every=1,
        # extraction of a large document can take a while
        broker_max_poll_interval=max(300.0, settings.extract_timeout_s * 3),
    )

    def topic(spec):  # type: ignore[no-untyped-def]
        return app.topic(spec.name(settings), key_type=bytes, value_type=bytes, value_serializer="raw",
                         key_serializer="raw", allow_empty=True)

    raw_topic, extracted_topic, metrics_topic, dead_topic = (
        topic(RAW), topic(EXTRACTED), topic(METRICS), topic(DEADLETTER),
    )

    async def send(target: faust.TopicT, key: str | None, value: bytes) -> None:
        fut = await target.send(key=key.encode() if key else None, value=value)
        await fut  # wait for the broker's ack before the offset may be committed

    @app.agent(raw_topic, concurrency=1)
    async def extract_reports(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        async for event in stream.events():
            value: bytes = event.value
            msg = event.message
            try:
                result = await loop.run_in_executor(None, handle_raw, value, settings)
            except Exception as exc:  # noqa: BLE001 - any failure is a dead letter, never a crash
                letter = dead_letter(
                    Stage.EXTRACT, exc, value, source_topic=msg.topic, partition=msg.partition,
                    offset=msg.offset, key=msg.key,
                )
                await send(dead_topic, Stage.EXTRACT.value, letter.model_dump_json().encode())
                continue
            report = result.report
            key = report.agency_key
            await send(extracted_topic, key, report.model_dump_json().encode())
            for metric in result.metrics:
                await send(metrics_topic, key, metric.model_dump_json().encode())
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
    """Run the worker until SIGINT/SIGTERM (``ogi extract worker``)."""
    from faust.worker import Worker

    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
