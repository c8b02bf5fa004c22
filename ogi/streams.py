"""faust-streaming adapter: what every Faust app of the project shares (the
extract worker, the detector). Topics come from the topic table and carry
raw bytes; the apps decode them with the pydantic models themselves, so a
malformed record becomes a dead letter instead of a serializer crash."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import faust

from ogi.broker import faust_credentials
from ogi.settings import Settings
from ogi.telemetry import RECORDS_PRODUCED
from ogi.topics import TopicSpec

#: largest producer batch (per partition) of the Faust apps: a batch is one record
#: batch on the broker, so it stays under the 1 MB ``max.message.bytes`` of the topics
#: without large records
PRODUCER_BATCH_BYTES = 512 * 1024


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
        # A report's ~230 metric events (~160 KB) in one batch, so one produce request: at
        # aiokafka's 16 KB default they were ~10 requests, sent one after another (one in
        # flight per broker), each a round trip and Kafka's per-request work.
        "producer_max_batch_size": PRODUCER_BATCH_BYTES,
        "consumer_max_fetch_size": settings.max_message_bytes,
        "consumer_auto_offset_reset": "earliest",
        "topic_replication_factor": settings.topic_replication or 1,  # unused: topics come from ensure_topics
        "topic_partitions": settings.topic_partitions,
        "topic_allow_declare": False,
        "stream_wait_empty": False,
        "broker_commit_every": 1,
        # the same security settings as every kafka-python client (ogi.broker)
        "broker_credentials": faust_credentials(settings),
    }
    config.update(overrides)
    return faust.App(app_id, **config)


def bytes_topic(app: faust.App, spec: TopicSpec, settings: Settings, **kw: Any) -> faust.TopicT:
    """The table's topic as seen by ``app``: keys and values stay bytes."""
    return app.topic(
        spec.name(settings),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
        **kw,
    )


async def send_unacked(target: faust.TopicT, key: str | None, *values: bytes) -> list[asyncio.Future[Any]]:
    """Queue ``values`` for the broker in order, under one key, and return
    the futures of their acknowledgements (``send_acked`` waits for them; a
    caller producing to several topics waits once for all).

    Straight to aiokafka's producer under Faust (``app.producer._producer``),
    as whole batches: the partition is the one the default partitioner gives
    ``key`` (computed once, not per record), the values go into as few
    batches as ``PRODUCER_BATCH_BYTES`` allows, in order, one future a batch.
    Faust's ``Topic.send`` cost ~0.14 ms of CPU a record in bookkeeping, and
    aiokafka's ``send`` per record (a future, the key hashed in Python) half
    of what producing a report's ~230 metric events cost (benchmarks/RESULTS.md)."""
    raw_key = key.encode() if key else None
    producer = producer_of(target.app)
    topic = target.get_topic_name()
    RECORDS_PRODUCED.labels(topic).inc(len(values))
    await producer.partitions_for(topic)  # metadata first: the partition depends on the partition count
    partition = producer._partition(topic, None, None, None, raw_key, None)
    acks: list[asyncio.Future[Any]] = []
    batch = producer.create_batch()
    for value in values:
        if batch.append(key=raw_key, value=value, timestamp=None) is None:  # full (never on its first record)
            acks.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            batch.append(key=raw_key, value=value, timestamp=None)
    if batch.record_count():
        acks.append(await producer.send_batch(batch, topic, partition=partition))
    return acks


async def send_acked(target: faust.TopicT, key: str | None, *values: bytes) -> None:
    """Send ``values`` in order and wait for the broker's acknowledgement of
    all of them, so that nothing a consumed record produced can be lost once
    its offset is committed."""
    await asyncio.gather(*await send_unacked(target, key, *values))


def _first_attr(obj: Any, *names: str) -> Any:
    return next((v for v in (getattr(obj, n, None) for n in names) if v is not None), None)


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    """Where ``task`` is suspended: every coroutine frame of its await chain
    (file:line function), down to the future it waits on."""
    import gc

    out: list[str] = []
    obj: Any = task.get_coro()
    for _ in range(100):
        frame = _first_attr(obj, "cr_frame", "ag_frame", "gi_frame")
        if frame is not None:
            out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
            nxt = _first_attr(obj, "cr_await", "ag_await", "gi_yieldfrom")
        elif isinstance(obj, asyncio.Future):
            out.append(f"future {obj!r}"[:600])
            break
        else:
            # an __await__ iterator (coroutine_wrapper, async_generator_asend, FutureIter)
            # exposes what it iterates only to the garbage collector
            inner = [
                r
                for r in gc.get_referents(obj)
                if hasattr(r, "cr_frame")
                or hasattr(r, "ag_frame")
                or hasattr(r, "gi_frame")
                or isinstance(r, asyncio.Future)
            ]
            if not inner:
                out.append(f"awaits {obj!r}"[:300])
                break
            nxt = inner[0]
        if nxt is None:
            break
        obj = nxt
    return out


def dump_tasks(signum: int = 0, frame: Any = None) -> None:
    """Log the await chain of every asyncio task (``kill -URG <pid>``)."""
    import structlog

    log = structlog.get_logger("ogi.streams")
    loop = asyncio.get_event_loop()
    for task in asyncio.all_tasks(loop):
        log.warning("task dump", task=task.get_name(), chain=_await_chain(task))


# ------------------------------------------------------------------ Faust internals
# What the project needs of faust-streaming that its public API does not
# offer, in one place. Written against faust-streaming 0.15.3 (pinned in
# pyproject.toml): re-check each helper before upgrading.


def producer_of(app: faust.types.AppT) -> Any:
    """``app``'s aiokafka producer (``app.producer._producer``), started with
    the app; its ``_partition`` (the configured partitioner, with the
    topic's metadata) is aiokafka's, not public either."""
    return getattr(app.producer, "_producer", None)  # None before the producer started


def tables_ready(app: faust.App) -> bool:
    """No rebalance in progress and the tables fully recovered from their
    changelogs (``app.tables.recovery.completed``: not public API)."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return not (app.rebalancing or app.in_recovery or not recovery.completed.is_set())


async def fetch_producer_metadata(app: faust.App, topic: str) -> bool:
    """Have ``app``'s Kafka producer (``app.producer._producer``, aiokafka's)
    fetch ``topic``'s partitions: Faust does not for a topic it may not
    declare, and a table with the key partitioner needs them. False if the
    producer is not started yet."""
    producer = producer_of(app)
    if producer is None:
        return False
    await producer.partitions_for(topic)
    return True


def app_input_topics(app: faust.App) -> list[str]:
    """The topics ``app``'s agents read (not the tables' changelogs)."""
    names: set[str] = set()
    for agent in app.agents.values():
        names.update(getattr(agent.channel, "topics", ()))
    return sorted(names)


def seed_committed_offsets(app: faust.App, settings: Settings) -> dict[str, int]:
    """Give every partition of ``app``'s input topics that its group never
    committed a committed offset: the partition's first offset (what
    ``consumer_auto_offset_reset="earliest"`` would read anyway). Returns
    what it committed ("topic/partition" -> offset).

    Why (faust-streaming 0.15.3; re-check before upgrading): at the end of
    every table recovery Faust resumes the stream partitions, lets its
    fetcher hand records to the agents' buffers, seeks each partition to
    its *committed* offset, and then clears those buffers
    (``Recovery._resume_streams``; the agent queues are
    ``clear_on_resume``). A partition with a committed offset is re-read
    from it; one without is not sought, so the records handed out and
    cleared are gone for this process: a fresh detector waited forever
    for reports already on its topic. With an offset on every partition
    the seek covers all of them.

    Only possible while the group has no members (Kafka refuses a commit
    from outside a live group); a live group's members keep their own
    positions, so that case is logged and left alone."""
    import structlog
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    from ogi.broker import kafka_client

    log = structlog.get_logger("ogi.streams")
    group = app.conf.id
    try:
        consumer = kafka_client(
            KafkaConsumer,
            settings,
            group_id=group,
            enable_auto_commit=False,
            client_id=f"{group}-seed",
            request_timeout_ms=30_000,
        )
    except (KafkaError, OSError) as exc:  # not fatal here: Faust's own clients meet it next
        log.warning("committed offsets not seeded: kafka unreachable", group=group, error=repr(exc))
        return {}
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in app_input_topics(app)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        unstarted = [tp for tp in tps if consumer.committed(tp) is None]
        if not unstarted:
            return {}
        starts = consumer.beginning_offsets(unstarted)
        try:
            consumer.commit({tp: OffsetAndMetadata(starts[tp], "", -1) for tp in unstarted})
        except KafkaError as exc:
            log.warning(
                "partitions without a committed offset left as they are",
                group=group,
                partitions=[f"{tp.topic}/{tp.partition}" for tp in unstarted],
                error=repr(exc),
            )
            return {}
        seeded = {f"{tp.topic}/{tp.partition}": starts[tp] for tp in unstarted}
        log.info("committed offsets seeded", group=group, offsets=seeded)
        return seeded
    finally:
        consumer.close()


def run(app: faust.App, loglevel: str = "warning", settings: Settings | None = None) -> None:
    """Run ``app``'s agents and timers until SIGINT or SIGTERM. Logging
    stays as ``ogi.log`` set it up (structlog JSON, no colours, no
    spinner), and a stop is bounded by the stop deadline of ogi.signals.
    Every input partition starts from a committed offset
    (``seed_committed_offsets``)."""
    from faust.worker import Worker

    from ogi.signals import request_stop

    class _Worker(Worker):
        def _on_sigint(self) -> None:
            self._stop_bounded(signal.SIGINT)
            super()._on_sigint()

        def _on_sigterm(self) -> None:
            self._stop_bounded(signal.SIGTERM)
            super()._on_sigterm()

        def _stop_bounded(self, signum: signal.Signals) -> None:
            request_stop(
                signum.name,
                shutdown="Faust shutdown: finish the records in hand, commit their "
                "offsets, close the Kafka clients",
            )

    from ogi.settings import get_settings

    seed_committed_offsets(app, settings or get_settings())
    worker = _Worker(app, loglevel=loglevel, quiet=True, override_logging=False, redirect_stdouts=False)
    worker.spinner = None  # it writes cursor control sequences even into a log file
    # SIGURG: ignored by default and unused by mode (SIGUSR1 prints only each task's top frame)
    signal.signal(signal.SIGURG, dump_tasks)
    worker.execute_from_commandline()
