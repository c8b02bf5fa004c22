"""Kafka adapter (kafka-python): topic creation, a durable producer, and a
consumer for the plain (non-Faust) services. Broker code stays here; the
services call these functions and never build clients themselves."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError
from pydantic import BaseModel

from ogi import telemetry
from ogi.settings import Settings, get_settings
from ogi.signals import pause
from ogi.topics import TOPICS, TopicSpec, min_insync_replicas

log = structlog.get_logger("ogi.broker")


class BrokerError(RuntimeError):
    """Kafka could not be reached or refused a record."""


def _retry_connect(factory: Any, what: str, timeout_s: float) -> Any:
    """Build a client, waiting out a broker that is (re)starting."""
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            return factory()
        except (NoBrokersAvailable, KafkaError, OSError) as exc:
            telemetry.error(exc)
            if time.monotonic() > deadline:
                raise BrokerError(f"cannot reach Kafka for {what}: {exc}") from exc
            log.warning("kafka unavailable, retrying", what=what, error=str(exc), delay=delay)
            pause(delay, f"Kafka ({what})")  # a stop must not wait for the broker
            delay = min(delay * 2, 10)


def topic_replication(settings: Settings, brokers: int) -> int:
    """Replicas per topic: the setting, or (0) three where the cluster has
    three brokers, else as many as it has."""
    return settings.topic_replication or max(1, min(3, brokers))


def ensure_topics(settings: Settings | None = None, specs: Iterable[TopicSpec] | None = None) -> list[str]:
    """Create the topics that do not exist yet (idempotent); returns the
    names created. Existing topics are left as they are."""
    settings = settings or get_settings()
    specs = list(specs if specs is not None else TOPICS.values())
    admin = _retry_connect(
        lambda: KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=30000),
        "admin",
        120,
    )
    try:
        existing = set(admin.list_topics())
        replication = topic_replication(settings, len(admin.describe_cluster().get("brokers") or []))
        durability = {"min.insync.replicas": str(min_insync_replicas(replication))}
        new = [
            NewTopic(
                name=s.name(settings),
                num_partitions=settings.topic_partitions,
                replication_factor=replication,
                topic_configs={**s.config(settings), **durability},
            )
            for s in specs
            if s.name(settings) not in existing
        ]
        created = []
        for topic in new:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another process won the race: fine
        return created
    finally:
        admin.close()


def make_producer(settings: Settings | None = None, **overrides: Any) -> KafkaProducer:
    """An idempotent, acks=all producer that accepts raw documents up to the
    configured size. Sends retry through a broker restart for up to
    ``delivery_timeout_ms`` before failing loudly."""
    settings = settings or get_settings()
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "acks": "all",
        "enable_idempotence": True,
        "max_request_size": settings.max_message_bytes,
        "buffer_memory": max(settings.max_message_bytes * 2, 33554432),
        "linger_ms": 5,
        "delivery_timeout_ms": 300_000,
        "request_timeout_ms": 60_000,
        "retry_backoff_ms": 500,
        "client_id": "ogi",
    }
    config.update(overrides)
    return _retry_connect(lambda: KafkaProducer(**config), "producer", 120)


def make_consumer(
    group_id: str, topics: Iterable[TopicSpec], settings: Settings | None = None, **overrides: Any
) -> KafkaConsumer:
    """A consumer with manual commits: the caller commits only after its work
    is durable, so a crash or restart replays instead of losing records."""
    settings = settings or get_settings()
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": settings.max_message_bytes,
        "fetch_max_bytes": settings.max_message_bytes * 2,
        # kafka-python refuses network frames above this (default 1 MB)
        "receive_message_max_bytes": settings.max_message_bytes * 2 + 1024 * 1024,
        "max_poll_records": 200,
        # a bulk write may wait out an Elasticsearch restart
        "max_poll_interval_ms": 900_000,
        "client_id": f"ogi-{group_id}",
    }
    config.update(overrides)
    consumer = _retry_connect(lambda: KafkaConsumer(**config), f"consumer {group_id}", 120)
    consumer.subscribe([t.name(settings) for t in topics])
    return consumer


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode("utf-8")


def key_of(spec: TopicSpec, model: BaseModel) -> bytes | None:
    value = getattr(model, spec.key, None)
    if value is None:
        return None
    return str(getattr(value, "value", value)).encode("utf-8")


def publish(producer: KafkaProducer, spec: TopicSpec, model: BaseModel, settings: Settings | None = None) -> Any:
    """Send one model to its topic, keyed as the topic table says; returns
    the future (``.get()`` it to wait for the broker's acknowledgement)."""
    if not isinstance(model, spec.model):
        raise TypeError(f"{spec.suffix} carries {spec.model.__name__}, not {type(model).__name__}")
    name = spec.name(settings)
    telemetry.RECORDS_PRODUCED.labels(name).inc()
    return producer.send(name, value=encode(model), key=key_of(spec, model))
