"""faust-streaming adapter: what every Faust app of the project shares (the
extract worker, the detector). Topics come from the topic table and carry
raw bytes; the apps decode them with the pydantic models themselves, so a
malformed record becomes a dead letter instead of a serializer crash."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import faust

from ogi.settings import Settings
from ogi.topics import TopicSpec


def make_app(app_id: str, settings: Settings, **overrides: Any) -> faust.App:
    """A Faust app on the configured brokers with durable defaults: acks from
    every replica, records as large as the raw topic allows, topics owned by
    the topic table (``ogi setup``), never declared by Faust."""
    datadir = settings.home / "run" / "faust" / app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "broker": ";".join(f"kafka://{b}" for b in settings.bootstrap_servers),
        "datadir": str(datadir),
        "web_enabled": False,
        "producer_acks": -1,
        "producer_max_request_size": settings.max_message_bytes,
        "consumer_max_fetch_size": settings.max_message_bytes,
        "consumer_auto_offset_reset": "earliest",
        "topic_replication_factor": settings.topic_replication,
        "topic_partitions": settings.topic_partitions,
        "topic_allow_declare": False,
        "stream_wait_empty": False,
        "broker_commit_every": 1,
    }
    config.update(overrides)
    return faust.App(app_id, **config)


def bytes_topic(app: faust.App, spec: TopicSpec, settings: Settings, **kw: Any) -> faust.TopicT:
    """The table's topic as seen by ``app``: keys and values stay bytes."""
    return app.topic(spec.name(settings), key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", allow_empty=True, **kw)


async def send_acked(target: faust.TopicT, key: str | None, *values: bytes) -> None:
    """Send ``values`` in order and wait for the broker's acknowledgement of
    all of them, so that nothing a consumed record produced can be lost once
    its offset is committed. Sending all before waiting lets the producer
    batch them (one round trip, not one per value).

    Straight to the Kafka producer under Faust (``app.producer.send``), not
    through ``Topic.send``: the values are bytes already, and Faust's
    per-message bookkeeping (pending and future messages, sensors, the send
    buffer) cost ~0.14 ms of CPU a record: with ~230 metric events a report,
    33 ms, twice the extraction of a text report (benchmarks/RESULTS.md)."""
    raw_key = key.encode() if key else None
    producer = target.app.producer
    topic = target.get_topic_name()
    futures = [await producer.send(topic, raw_key, value, None, None, None) for value in values]
    await asyncio.gather(*futures)


def run(app: faust.App, loglevel: str = "warning") -> None:
    """Run ``app``'s agents and timers until SIGINT or SIGTERM. Logging
    stays as ``ogi.log`` set it up (structlog JSON, no colours, no
    spinner), and a stop is bounded by the stop deadline of ogi.signals."""
    from faust.worker import Worker

    from ogi.signals import request_stop

    class _Worker(Worker):  # type: ignore[misc]
        def _on_sigint(self) -> None:
            self._stop_bounded(signal.SIGINT)
            super()._on_sigint()

        def _on_sigterm(self) -> None:
            self._stop_bounded(signal.SIGTERM)
            super()._on_sigterm()

        def _stop_bounded(self, signum: signal.Signals) -> None:
            request_stop(signum.name, shutdown="Faust shutdown: finish the records in hand, commit their "
                                               "offsets, close the Kafka clients")

    worker = _Worker(app, loglevel=loglevel, quiet=True, override_logging=False, redirect_stdouts=False)
    worker.spinner = None  # it writes cursor control sequences even into a log file
    worker.execute_from_commandline()
